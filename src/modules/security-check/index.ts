export { DEFAULTS, UNKNOWN_ORIGIN, parseBaseUrl, parseOrigin, runSecurityCheck, type CheckResult, type SecurityCheckOptions, type SecurityReport } from './security-check.js';
export { renderHtml, renderText } from './render.js';
