export type { OrderedTaskRef, StageOrderWarning } from './order.js';
export {
  type IncompatibleTask,
  type Plan,
  type PlanInput,
  plan,
  type SkippedTask,
  type UpgradeMode,
} from './plan.js';
export {
  type PlanRouteInput,
  planRoute,
  type RouteHop,
  type RoutePoint,
  type UpgradeRoute,
} from './route.js';
