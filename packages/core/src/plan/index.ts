export { formatPlanMarkdown } from './markdown.js';
export { type OrderedTaskRef, type StageOrderWarning, stageOrderWarnings } from './order.js';
export {
  type IncompatibleTask,
  type Plan,
  type PlanInput,
  plan,
  type SkippedTask,
  type UpgradeMode,
} from './plan.js';
export {
  isRoute,
  type PlanRouteInput,
  planRoute,
  type RouteHop,
  type RoutePoint,
  type UpgradeRoute,
} from './route.js';
