// What other folders of core use from model/ and a user never needs. Not a package export:
// `index.ts` is the public face, this file the one core's own folders share.
export { CHECK_STAGES, stageLabel, TASK_STAGES, toStage, unknownStageMessage } from './stages.js';
