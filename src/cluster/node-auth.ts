/**
 * How a node proves itself on each connection: it sends its certificate (signed by the cluster
 * CA at join) and a short-lived ES256 JWT signed with its private key, naming itself and this
 * controller. The controller checks the certificate against the CA, the JWT against the
 * certificate's key, and the node's record (not revoked, the same certificate serial).
 */
import type { KeyObject } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';

/** The audience node JWTs are made for. */
export const NODE_AUDIENCE = 'berth-cluster';

/** Seconds a node's connection proof is good for. */
const PROOF_SECONDS = 120;

/** A connection proof for node `nodeId`, signed with its private key. */
export function nodeProof(nodeId: string, privateKey: KeyObject): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject(nodeId)
    .setAudience(NODE_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${PROOF_SECONDS}s`)
    .sign(privateKey);
}

/** Whether `proof` was signed with `publicKey` for node `nodeId` and is still fresh. */
export async function proofHolds(
  proof: string,
  publicKey: KeyObject,
  nodeId: string,
): Promise<boolean> {
  try {
    const { payload } = await jwtVerify(proof, publicKey, {
      audience: NODE_AUDIENCE,
      algorithms: ['ES256'],
      maxTokenAge: `${PROOF_SECONDS}s`,
    });
    return payload.sub === nodeId;
  } catch {
    return false;
  }
}
