// The bundle's entry. `run()` is called unconditionally: an "am I the main module" guard does
// nothing on Gitea/Forgejo runners, which start actions through a symlinked path.
import { run } from './run.js';

await run();
