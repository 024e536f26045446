/** @upgradekit/action — the GitHub/Gitea Action; `main.ts` is the bundled entry. */
export { run } from './run.js';
