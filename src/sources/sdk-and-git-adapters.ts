/**
 * The adapters that load the AWS SDK (S3; MLflow, which reads S3 artifact stores) or run git
 * (node:child_process): the fetch bundle loads them together, only when a spec names one
 * (adapter-loaders-fetch.ts).
 */
export { gitLfsAdapter } from "./git-lfs/adapter.js";
export { gitXetAdapter } from "./git-xet/adapter.js";
export { mlflowAdapter } from "./mlflow/adapter.js";
export { s3Adapter } from "./s3/adapter.js";
