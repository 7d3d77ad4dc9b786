/** The cluster room: the control plane over Docker engine nodes, and the agent that runs beside each. */
export { ControlPlane } from './control-plane.js';
export type {
  ClusterSettings,
  ContainerView,
  NodeView,
  NodeStatus,
  RunRequest,
  ServiceRequest,
} from './plane-base.js';
export { AgentHub, type AgentLink, type AgentStream } from './hub.js';
export { ClusterCa, clusterCaOnFirstUse, type ClusterCaSource } from './cluster-ca.js';
export { JoinTokens, parseJoinToken } from './join-tokens.js';
export { Admission, parseImage, type AdmissionDecision, type ImageRef } from './admission.js';
export { runAgent, type AgentOptions } from './agent.js';
export { LEVELS, type ControlLevel } from './access.js';
