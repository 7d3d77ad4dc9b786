/**
 * The shapes of manifests and indexes as the OCI image-spec (and Docker's schema 2) define them,
 * as zod schemas: what must be present, and of which type. Unknown fields are allowed.
 */
import { z } from 'zod';

/** RFC 6838 media type, as the image-spec's descriptor schema requires. */
const MEDIA_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

const mediaType = z.string().regex(MEDIA_TYPE, 'must be a media type (type/subtype)');
const annotations = z.record(z.string(), z.string(), 'must map strings to strings');

const platform = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});

/** A content descriptor. */
export const descriptorSchema = z.looseObject({
  mediaType,
  digest: z.string(),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  urls: z.array(z.string()).optional(),
  annotations: annotations.optional(),
  data: z.string().optional(),
  artifactType: mediaType.optional(),
  platform: platform.optional(),
});

const common = {
  schemaVersion: z.literal(2, 'must be 2'),
  mediaType: mediaType.optional(),
  artifactType: mediaType.optional(),
  subject: descriptorSchema.optional(),
  annotations: annotations.optional(),
};

/** An image manifest (OCI or Docker schema 2): a config and a layers array. */
export const imageManifestSchema = z.looseObject({
  ...common,
  config: descriptorSchema,
  layers: z.array(descriptorSchema, 'must be an array of descriptors'),
});

/** An image index (OCI) or manifest list (Docker). */
export const imageIndexSchema = z.looseObject({
  ...common,
  manifests: z.array(descriptorSchema, 'must be an array of descriptors'),
});

/** The first problem zod found, as `path: message`. */
export function firstProblem(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return `${where}${issue.message}`;
}
