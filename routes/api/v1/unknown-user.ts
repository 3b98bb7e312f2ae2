import { InvalidInput, NotFound } from '../../../domain/errors.js'

// Rocket.Chat answers an unknown user with a 400 of its own, on the parameter that named them.
export async function asRocketChatUser<T> (field: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof NotFound) throw new InvalidInput('invalid_user', field, 'User not found.')
    throw error
  }
}
