import { z } from 'zod';
import { singleLine } from '../../http/text-fields.js';

const base64url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const transports = z.array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'])).max(8);
/** What browsers put in `clientExtensionResults`; nothing of it is used, only its size is bounded. */
const extensionResults = z.record(z.string().max(64), z.unknown()).refine((value) => JSON.stringify(value).length <= 2048, 'too large');

export const passkeyName = singleLine(64);

/** `PublicKeyCredential.toJSON()` of navigator.credentials.create(), as @simplewebauthn/server reads it. */
export const registrationResponse = z.strictObject({
  id: base64url(1400),
  rawId: base64url(1400),
  type: z.literal('public-key'),
  response: z.strictObject({
    clientDataJSON: base64url(4096),
    attestationObject: base64url(8192),
    authenticatorData: base64url(4096).optional(),
    transports: transports.optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: base64url(4096).optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: extensionResults,
});

/** `PublicKeyCredential.toJSON()` of navigator.credentials.get(). */
export const authenticationResponse = z.strictObject({
  id: base64url(1400),
  rawId: base64url(1400),
  type: z.literal('public-key'),
  response: z.strictObject({
    clientDataJSON: base64url(4096),
    authenticatorData: base64url(4096),
    signature: base64url(1024),
    userHandle: base64url(128).optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: extensionResults,
});

export const registerPasskeySchema = {
  body: z.strictObject({ name: passkeyName.optional(), response: registrationResponse }),
};

export const passkeyIdSchema = { params: z.strictObject({ id: z.uuid() }) };

export const renamePasskeySchema = { params: passkeyIdSchema.params, body: z.strictObject({ name: passkeyName }) };

// ---- responses ------------------------------------------------------------------------

const credentialDescriptor = z.strictObject({ id: z.string(), type: z.literal('public-key'), transports: z.array(z.string()).optional() });

/** For navigator.credentials.create() (PublicKeyCredential.parseCreationOptionsFromJSON). */
export const registrationOptionsResponse = z.strictObject({
  challenge: z.string(),
  rp: z.strictObject({ name: z.string(), id: z.string() }),
  user: z.strictObject({ id: z.string(), name: z.string(), displayName: z.string() }),
  pubKeyCredParams: z.array(z.strictObject({ alg: z.number().int(), type: z.literal('public-key') })),
  timeout: z.number().int(),
  attestation: z.literal('none'),
  excludeCredentials: z.array(credentialDescriptor),
  authenticatorSelection: z.strictObject({ residentKey: z.literal('required'), userVerification: z.literal('required'), requireResidentKey: z.literal(true) }),
  extensions: z.strictObject({ credProps: z.literal(true) }),
  hints: z.array(z.string()),
});

/** For navigator.credentials.get() (PublicKeyCredential.parseRequestOptionsFromJSON): no credentials listed, the passkey names its account. */
export const authenticationOptionsResponse = z.strictObject({
  challenge: z.string(),
  rpId: z.string(),
  timeout: z.number().int(),
  userVerification: z.literal('required'),
  // The library leaves these undefined (absent from the JSON): any passkey of this relying party will do.
  allowCredentials: z.array(credentialDescriptor).max(0).optional(),
  extensions: z.strictObject({}).optional(),
});

export const passkeyResponse = z.strictObject({
  id: z.uuid(),
  name: z.string(),
  deviceType: z.string(),
  backedUp: z.boolean(),
  transports: z.array(z.string()),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
});

export const passkeyListResponse = z.strictObject({ items: z.array(passkeyResponse) });

export type RegistrationResponse = z.output<typeof registrationResponse>;
export type AuthenticationResponse = z.output<typeof authenticationResponse>;
