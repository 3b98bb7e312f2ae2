import type { Knex } from 'knex'
import * as initial from './0001_initial.js'
import * as registrationControls from './0002_registration_controls.js'
import * as permissions from './0003_permissions.js'
import * as rocketChat from './0004_rocket_chat.js'
import * as oauth from './0005_oauth.js'
import * as passwordChanges from './0006_password_changes.js'
import * as mailAndCodes from './0007_mail_and_codes.js'
import * as profile from './0008_profile.js'
import * as accountStatus from './0009_account_status.js'
import * as directoryAndAudit from './0010_directory_and_audit.js'
import * as sendMail from './0011_send_mail.js'
import * as editOtherUserPassword from './0012_edit_other_user_password.js'
import * as webhooks from './0013_webhooks.js'
import * as webhookEndpointLeases from './0014_webhook_endpoint_leases.js'
import * as auditWebhookEndpoints from './0015_audit_webhook_endpoints.js'
import * as externalIdentities from './0016_external_identities.js'
import * as idempotencyKeys from './0017_idempotency_keys.js'
import * as personalAccessTokens from './0018_personal_access_tokens.js'

// Migrations are listed here rather than discovered on disk, so that the same list runs from
// source (TypeScript) and from dist/ (JavaScript). Append only: a released migration never changes.
const migrations: Record<string, Knex.Migration> = {
  '0001_initial': initial,
  '0002_registration_controls': registrationControls,
  '0003_permissions': permissions,
  '0004_rocket_chat': rocketChat,
  '0005_oauth': oauth,
  '0006_password_changes': passwordChanges,
  '0007_mail_and_codes': mailAndCodes,
  '0008_profile': profile,
  '0009_account_status': accountStatus,
  '0010_directory_and_audit': directoryAndAudit,
  '0011_send_mail': sendMail,
  '0012_edit_other_user_password': editOtherUserPassword,
  '0013_webhooks': webhooks,
  '0014_webhook_endpoint_leases': webhookEndpointLeases,
  '0015_audit_webhook_endpoints': auditWebhookEndpoints,
  '0016_external_identities': externalIdentities,
  '0017_idempotency_keys': idempotencyKeys,
  '0018_personal_access_tokens': personalAccessTokens
}

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name] as Knex.Migration
}
