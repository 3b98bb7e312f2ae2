// The error body every surface starts from; the errors plugin and the surfaces' translations
// (Rocket.Chat's, OAuth2's) share it.
export interface ErrorBody {
  statusCode: number
  code: string
  message: string
  field?: string
}

// What Rocket.Chat's errors (v1) tell apart beyond the body: whether the request failed its
// schema, and the kind of rule that refused it.
export interface ErrorOrigin {
  schema: boolean
  customField: boolean
  forbidden: boolean
}
