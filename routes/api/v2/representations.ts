import type { CustomFieldDefinition } from '../../../repositories/custom-field-repository.js'
import type { CustomField } from '../../../schemas/components.js'
import { customFieldSettingsBody } from '../../../services/custom-fields.js'

// The v2 User is built below the routes, as the webhook relay sends it too.
export { userRepresentation } from '../../../services/user-representation.js'

export function customFieldRepresentation (definition: CustomFieldDefinition): CustomField {
  return {
    id: definition.id,
    name: definition.name,
    ...customFieldSettingsBody(definition),
    created_at: definition.createdAt,
    updated_at: definition.updatedAt
  }
}
