/** The routes of a lifted service (the wire contract shared by client and server). */
export const CALL_PATH = '/v1/call';
/** Many inputs in one request: the body is an array of argument arrays, the answer one outcome per input. */
export const MAP_PATH = '/v1/map';
export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';
