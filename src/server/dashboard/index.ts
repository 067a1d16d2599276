/**
 * The dashboard's data: an overview of a window from the store's rollups, the request list and a
 * request's page, experiments and kept comparisons — what /dashboard/api answers and what
 * `arbiter report` embeds. The page itself is built from dashboard/ into dist/dashboard.
 */
export { buildOverview, stepHoursFor, strongestModel, type WindowRequest } from './overview.js';
export { requestDetail, requestRow } from './requests.js';
export { buildSnapshot, comparisonViews, experimentViews, type SnapshotOptions } from './snapshot.js';
export { dashboardAssets, reportHtml } from './assets.js';
export type * from './types.js';
