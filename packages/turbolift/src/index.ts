/**
 * The package main. Nx loads it for `"plugins": ["turbolift"]`, so it stays light: the createNodes plugin
 * and the types a user may want; executors and generators are loaded by Nx through executors.json and
 * generators.json.
 */
export { createNodes, createNodesV2, createServiceTargets, type TurboliftPluginOptions } from './plugins/create-nodes';
export { MARKER_FILE, SERVICE_TAG, parseServiceMarker, type ServiceMarker } from './service/marker';
