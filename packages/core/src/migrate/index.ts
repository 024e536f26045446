export {
  applyPlaceholders,
  commitsImplicitly,
  type SqlDialect,
  type Statement,
  splitStatements,
} from './split.js';
