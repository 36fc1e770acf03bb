/** The routes of a lifted service (the wire contract shared by client and server). */
export const CALL_PATH = '/v1/call';
export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';
