// The control plane: nodes, containers across every node and Swarm services, each a section.
import { type ReactNode } from 'react';
import { useSession } from '../session';
import { Containers } from './ClusterContainers';
import { Nodes } from './ClusterNodes';
import { Services } from './ClusterServices';

/** The control plane page. */
export function ClusterPage(): ReactNode {
  const session = useSession();
  if (!session)
    return (
      <section>
        <h1>Cluster</h1>
        <p>Sign in to see the nodes.</p>
      </section>
    );
  return (
    <section className="cluster">
      <h1>Cluster</h1>
      <Nodes admin={session.user.admin} />
      <Containers />
      <Services />
    </section>
  );
}
