/**
 * The control plane: nodes, workloads and governance over Docker engines, each a service taking
 * the actor; every action checked against the actor's grants and audited.
 */
import { GovernanceService } from './governance-service.js';
import { NodeService } from './node-service.js';
import type { ControlPlaneParts } from './plane-base.js';
import { WorkloadService } from './workload-service.js';

/** The control plane's services. */
export class ControlPlane {
  readonly nodes: NodeService;
  readonly workloads: WorkloadService;
  readonly governance: GovernanceService;

  constructor(parts: ControlPlaneParts) {
    this.nodes = new NodeService(parts);
    this.workloads = new WorkloadService(parts);
    this.governance = new GovernanceService(parts);
  }
}
