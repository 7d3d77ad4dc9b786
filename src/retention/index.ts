/** The retention room: keep rules, runs over repositories, the trash, and the schedule. */
export { keepRule, keepRules, keptTags, describeRule, type KeepRule } from './rules.js';
export {
  RetentionEngine,
  type RetentionPorts,
  type RetentionReport,
  type RepositoryVerdict,
} from './engine.js';
export { RetentionScheduler } from './scheduler.js';
export { imagesInUse, type ImagesInUse } from './images-in-use.js';
