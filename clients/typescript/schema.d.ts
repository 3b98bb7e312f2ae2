// Generated from openapi.yaml by `npm run generate` (openapi-typescript). Do not edit.

export interface paths {
    "/api/v2/account/create/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account
         * @description Creates a user account. The caller needs the permission `create-user` (granted by the
         *     `admin` role).
         *
         *     - `username`: 1–255 characters, only `a-z A-Z 0-9 _ -`, unique regardless of case
         *       (`Bob` blocks `bob`); stored as given.
         *     - Reserved usernames (`admin`, `root`, `support`, `here`, `all`, ... plus those of the
         *       `RESERVED_USERNAMES` setting) are refused regardless of case (`username_reserved`).
         *     - `email`: a valid address of at most 254 characters, unique regardless of case.
         *     - `password`: 8–128 characters with at least 3 of the 4 classes lower case, upper case,
         *       digit, special character; it must not contain the username and must not be a
         *       common password. It is stored only as a bcrypt hash.
         *     - Custom fields defined in the registry (`/api/v2/custom_field/`) are passed as
         *       top-level keys, as if they were standard fields. Unknown keys are refused.
         *     - `invite_code`: when the preference `configurations.invite_code` is on, a valid
         *       invite code is required (`invite_code_required`) and used up by this account. A code
         *       bound to an email or a username works only for that one
         *       (`invite_code_email_mismatch`, `invite_code_username_mismatch`); one that carries a
         *       role grants it. Unknown, used, expired and revoked codes are refused with
         *       `invite_code_not_found`, `invite_code_used`, `invite_code_expired`,
         *       `invite_code_revoked`. When the preference is off, a non-empty code is refused
         *       (`invite_code_not_accepted`).
         *     - `promo_code`: when the feature `promo_code` is on, optional; a code given must exist
         *       (`promo_code_not_found`), be active (`promo_code_inactive`), valid now
         *       (`promo_code_not_yet_valid`, `promo_code_expired`) and under its use limit
         *       (`promo_code_exhausted`), and is redeemed by this account. When the feature is off,
         *       a non-empty code is refused (`promo_code_not_accepted`).
         *
         *     The user, its roles, its custom fields, the invite code's use, the promo code's
         *     redemption, an audit entry and a `user.created` event are written in one transaction:
         *     a failure leaves nothing behind, and two creates can never use one invite code (or
         *     redeem a promo code beyond its limit). Duplicates are decided by the database's unique
         *     indexes.
         */
        post: operations["createAccount"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/account/verify/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Verify an account's email with the code mailed to it
         * @description The `validation_code` of the verification mail (sent when the account is created) marks
         *     the account's email as verified (`email_isvalid`) and logs its user in: the answer is a
         *     token pair, as the password grant gives. The code is spent; a code that is unknown,
         *     spent, replaced by a newer one or expired is `400 validation_code_invalid`, whichever it
         *     is. An account that is no longer active gets `401 account_not_active`, and the code stays
         *     unspent. A `user.email_verified` event and an audit entry are written with the change.
         */
        post: operations["verifyAccount"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/account/verify/validation_code/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Check a mailed code without spending it
         * @description Answers the account a verification or recovery code belongs to, while the code can still
         *     be used, so that a page can greet its user before asking for a new password. Nothing
         *     changes and the code stays usable. A code that cannot be used is `400
         *     validation_code_invalid`; the code of an account that is blocked or not yet approved is
         *     `401 account_not_active`, as verify and reset answer it, and shows nothing of it.
         */
        post: operations["checkValidationCode"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/account/recover/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mail a recovery code to an account's email
         * @description Mails a recovery code (and a link with it, under `PUBLIC_URL`) to the active account with
         *     this email, for `POST /api/v2/account/reset/`; a newer code replaces the older. The
         *     answer is `204` whether or not such an account exists, and comes no sooner than a fixed
         *     delay either way, so it tells nobody which emails have accounts. At most five codes an
         *     hour are mailed to one account (more requests are answered `204` and mail nothing), and
         *     requests from one address share the `codes` rate limit. Without a mail server configured
         *     in production, `503 mail_not_configured`.
         */
        post: operations["recoverAccount"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/account/reset/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Set a new password with a recovery code
         * @description The `validation_code` of a recovery mail sets the account's new `password` (the password
         *     policy applies, as on create) and logs its user in with a token pair. The code is spent,
         *     every refresh token the account had is revoked and every access token issued before
         *     stops working; a `user.password_changed` event, an audit entry and a password-changed
         *     mail are written with the change. A reset also verifies the email the code was mailed to.
         *     A code that cannot be used is `400 validation_code_invalid`, the current password `400
         *     password_unchanged` (and the code stays usable); of two resets racing with one code,
         *     one wins.
         */
        post: operations["resetPassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/user/me/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The user the token belongs to
         * @description A service client's token belongs to no user, and gets `403 not_a_user`.
         */
        get: operations["getCurrentUser"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/user/{id}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One user
         * @description A caller with the permission `view-user-administration` can read any user; any other caller only themselves.
         */
        get: operations["getUser"];
        /**
         * Replace a user's profile
         * @description SelfCommunity's `PUT` (`UserService.userUpdate`): the body is the whole writable part of
         *     the user, and what it leaves out is cleared: `real_name` becomes empty, `bio`,
         *     `location`, `description`, `website` and `date_of_birth` unset, `gender` `Unspecified`.
         *     `username` cannot be empty, so a `PUT` without it keeps it. Custom fields are replaced as
         *     on account creation: a field left out takes its `default`, or loses its value; a
         *     mandatory field without a default must be given (`400 missing_field`). The fields of
         *     Rocket.Chat's profile (`nickname`, `statusText`) are not part of v2's user and keep their
         *     values. The rules, permissions, event and audit entry are those of `PATCH`.
         */
        put: operations["replaceUser"];
        post?: never;
        /**
         * Delete a user
         * @description SelfCommunity's user deletion, by the user themselves or by a caller with the
         *     permission `delete-user` who holds every permission the user has (else `403`). The
         *     last active admin is never deleted (`403 last_admin`).
         *
         *     Soft by default: the user's status becomes `d`, and their personal data is erased
         *     (real name, profile fields, custom-field values, password). Their username and email
         *     stay reserved, so no new account can take them, unless the preference
         *     `configurations.deleted_accounts_release_identity` is on: then both are released. A
         *     user already deleted softly is `400 already_deleted`. With `hard=1` the row itself is
         *     removed (a softly deleted user too); audit entries about the user remain, without
         *     naming them. Either way the user is `404` to every read and search after, cannot log
         *     in, every token they had stops working, and their codes and the mails not yet sent
         *     to them are dropped. The deletion, an audit entry and a `user.deleted` event
         *     (`{id, hard, at}`, no personal data) are written in one transaction.
         */
        delete: operations["deleteUser"];
        options?: never;
        head?: never;
        /**
         * Change a user
         * @description SelfCommunity's `PATCH` (`UserService.userPatch`): changes the fields it names, and no
         *     other. `username` follows the rules of account creation (pattern, reserved names,
         *     unique regardless of case: `409 username_taken`); the tokens of the user keep working,
         *     since they name the user by id (`sub`), though the `username` claim of an access token
         *     already issued stays the one it was issued with. `real_name`, `bio` (260 characters),
         *     `location` (100), `description` (50), `website` (an http or https URL, 200),
         *     `gender` (`Male`, `Female`, `Unspecified`) and `date_of_birth` (a date from 1900-01-01
         *     to today) are checked as such; `null` (or an empty text) clears a profile field. Custom
         *     fields are top-level keys, as on account creation; `null` removes a value. A change that
         *     would leave the user without a value for a mandatory custom field is refused
         *     (`400 missing_field`), also when the field became mandatory after the user was created
         *     and the change does not name it: give its value too (one with a `default` takes it
         *     instead). `id`, `email`, `email_isvalid`, `date_joined`, `status` and `roles`
         *     are `400 read_only_field` (the email has its own confirmation flow). A caller with the
         *     permission `edit-other-user-info` can change another user who has no permission the
         *     caller lacks (else `403`); any other caller only themselves. The change, an audit entry
         *     and a `user.updated` event (naming the fields changed, without their values) are
         *     written in one transaction.
         */
        patch: operations["updateUser"];
        trace?: never;
    };
    "/api/v2/user/{id}/change_password/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change one's own password
         * @description The user of the token changes their password, giving the current one (`password`) and
         *     the new one (`new_password`, under the password policy of account creation). A wrong
         *     current password is `400 wrong_password`, a new one equal to it `400
         *     password_unchanged` (on `new_password`); another user's id is `403`. Every token the
         *     account had stops working, the one of this request too: log in again with the new
         *     password. The change, an audit entry, a `user.password_changed` event and a
         *     password-changed mail are written in one transaction. A user whose password must be
         *     changed (`requirePasswordChange`) may call this and `GET /api/v2/user/me/`, and nothing
         *     else. Checking the current password counts in the `login` rate limit.
         */
        patch: operations["changePassword"];
        trace?: never;
    };
    "/api/v2/user/{id}/change_email/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Ask for a new email, confirmed by a code mailed to it
         * @description SelfCommunity's `UserService.changeUserMail`. The user themselves, or a caller with
         *     `edit-other-user-info` who also holds every permission the user has (else `403`), asks
         *     for the account's email to become `new_email` (a valid address, not the current one:
         *     `400 email_unchanged`). Another account's address, regardless of case, is `409
         *     email_taken` for an admin's direct change only: a request confirmed by code answers
         *     `204` and mails nothing, so that nobody learns from it who has an account (the
         *     confirmation could not take that address anyway).
         *
         *     - The user's own request mails a code of its own purpose (`change_email`) to the new
         *       address, with a link under `ACCOUNT_PAGES_URL` that carries the user's id, the new
         *       address and the code; `POST /api/v2/user/{id}/confirm_email/` with
         *       it changes the email. Until then the account keeps its email. A newer code replaces
         *       the older; a code works once and expires. The user always confirms, whatever
         *       `confirm` says: an address is the account's only once it is shown to be theirs.
         *     - An admin's request with `confirm: true` does the same. Without it (SelfCommunity's
         *       direct change) the email changes at once, unverified (`email_isvalid` false), a
         *       verification mail goes to the new address (unless the preference
         *       `verification_mail` is off), and the change is written as on confirmation.
         *     - The answer is always `204`: unlike SelfCommunity's `200 {validation_code}`, the code
         *       is never in the answer, or it would prove nothing about the address.
         *       `send_email` is accepted and not used: the code is always mailed.
         *
         *     Without a mail server configured in production, `503 mail_not_configured`, and nothing
         *     changes.
         */
        patch: operations["changeEmail"];
        trace?: never;
    };
    "/api/v2/user/{id}/confirm_email/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Change the email with the code mailed to the new address
         * @description SelfCommunity's `UserService.confirmChangeUserMail`: the `validation_code` mailed by
         *     `PATCH /api/v2/user/{id}/change_email/` and the `new_email` it was mailed to change the
         *     account's email, verified (`email_isvalid` true). As SelfCommunity documents, no token
         *     is needed: the code is the proof. The code is spent; nothing else of the account
         *     changes, and no token is revoked. A code that is unknown, spent, replaced, expired, of
         *     another purpose (a verification or recovery code), of another user or for another
         *     address is `400 validation_code_invalid`, whichever it is; of two confirmations racing
         *     with one code, one wins. If another account took the address meanwhile, `409
         *     email_taken` and the code stays unspent; a blocked account gets `401
         *     account_not_active`. The change, an audit entry and a `user.email_changed` event
         *     (`id`, the new `email`, `email_isvalid`, who changed it and when; never the old
         *     address) are written in one transaction, with a notice mailed to the old address.
         */
        post: operations["confirmEmail"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/token/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Issue tokens (password, refresh_token, client_credentials)
         * @description OAuth2's token endpoint (RFC 6749). The body may be form-encoded, as OAuth2 clients
         *     send it, or JSON. Parameters this endpoint does not know are ignored (RFC 6749 §3.2); a
         *     parameter given twice is refused.
         *
         *     - `grant_type=password` with `username` (or an email) and `password`: an access token
         *       and a refresh token for that user. Wrong credentials, unknown users and users that
         *       are not active all get the same `400 invalid_grant`.
         *     - `grant_type=refresh_token` with `refresh_token`: a new access token and a **new**
         *       refresh token; the one presented is spent. Presenting a spent refresh token again
         *       revokes every token rotated from the same grant (reuse detection), and a refresh
         *       token of a user who is no longer active is refused.
         *     - `grant_type=client_credentials`: an access token for the service client itself,
         *       which must authenticate. No refresh token: ask again when it expires.
         *
         *     A service client authenticates with HTTP Basic (`client_id:client_secret`, each
         *     form-encoded, RFC 6749 §2.3.1) or with `client_id` and `client_secret` in the body,
         *     not both. A refresh token issued through a client is refreshed only by that client.
         *     `scope` narrows what the token may do (`read`, `write`, separated by a space) and never
         *     widens it: asking for more than the user, the client or the refresh token holds is
         *     `invalid_scope`.
         *
         *     Errors are RFC 6749 §5.2's `{ error, error_description }`; every answer carries
         *     `Cache-Control: no-store`.
         */
        post: operations["issueToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/revoke/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke a token (RFC 7009)
         * @description Revokes a refresh token (and every token rotated from the same grant) or an access
         *     token (it stops working here at once; other services that verify it with the JWKS
         *     alone accept it until it expires, unless they introspect it). A token issued through a
         *     service client is revoked only by that client, authenticated as on the token endpoint;
         *     any other token by whoever holds it, without client authentication. A token that is
         *     unknown, expired or already revoked is answered `200` too, and nothing changes.
         *     `token_type_hint` is accepted and not needed: the token's form tells its kind.
         */
        post: operations["revokeToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/introspect/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Introspect a token (RFC 7662)
         * @description For service clients, which authenticate as on the token endpoint: whether a token is
         *     active now — ours, unexpired, not revoked, and its user or client still able to act
         *     — and what it says. An inactive token is `{ "active": false }` and nothing else. A
         *     refresh token is described only to the client it was issued through.
         */
        post: operations["introspectToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The public keys that verify our access tokens (JWKS)
         * @description Every key that may have signed a token still valid, by `kid` (the key's RFC 7638
         *     thumbprint, as each token's header names it). Other services verify our tokens with
         *     these alone — for example with `jose`'s `createRemoteJWKSet`, checking `iss`
         *     (`JWT_ISSUER`), `aud` (`JWT_AUDIENCE`), the algorithm and `exp`. Empty when the
         *     service signs with a shared secret (`JWT_ALGORITHM=HS256`).
         */
        get: operations["getJwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/oauth-authorization-server": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Where the token, revocation, introspection and key endpoints are (RFC 8414)
         * @description The authorization server's metadata, for OAuth2 clients that discover it (such as
         *     `openid-client`'s `discovery` with the `oauth2` algorithm). URLs start with
         *     `PUBLIC_URL`.
         */
        get: operations["getAuthorizationServerMetadata"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/custom_field/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List custom field definitions */
        get: operations["listCustomFields"];
        put?: never;
        /**
         * Define a custom field
         * @description Defines a custom user field. From then on, account creation accepts (and, when
         *     `mandatory`, requires) a top-level body key with this `name`, validated by `type`.
         *     `min_length`/`max_length` apply to the text types (`string`, `phone_number`,
         *     `enum`, `url`, `email`); `enum` needs `type_options`; a `default` must itself be a
         *     valid value. A name may not be one of the standard fields of an account.
         */
        post: operations["createCustomField"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/custom_field/{id}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One custom field definition */
        get: operations["getCustomField"];
        put?: never;
        post?: never;
        /**
         * Delete a custom field definition
         * @description Deletes the definition together with every value stored for it.
         */
        delete: operations["deleteCustomField"];
        options?: never;
        head?: never;
        /**
         * Change a custom field definition
         * @description Changes the given properties; `name` and `type` cannot change (stored values depend
         *     on them). `null` clears `type_options`, `min_length`, `max_length` or `default`. The
         *     result must be a valid definition, as on create. Values already stored are kept.
         */
        patch: operations["updateCustomField"];
        trace?: never;
    };
    "/health/live": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The process is up */
        get: operations["checkLiveness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The service can serve requests (its database answers) */
        get: operations["checkReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics
         * @description The service's metrics in Prometheus's text exposition format (0.0.4), for a Prometheus
         *     server to scrape: requests by route template (`unmatched` for a path no route serves),
         *     method and status (`http_requests_total`, `http_request_duration_seconds`), account
         *     creations on either surface by outcome (`account_service_account_creations_total`:
         *     `created`, `conflict`, `invalid`, `refused`, `error`), the password hashes in flight and
         *     waiting for a thread (`account_service_bcrypt_operations_in_flight`, `..._waiting`), the
         *     database pool (`account_service_database_pool_connections_used`, `..._free`,
         *     `account_service_database_pool_acquires_pending`), the mail outbox
         *     (`account_service_mail_outbox_pending`, `..._oldest_pending_seconds`, `..._failed`), the
         *     webhook relays (`account_service_webhook_oldest_undelivered_event_seconds`, as in
         *     `/health/ready`, and `account_service_webhook_deliveries_failed`), and Node's process
         *     metrics. Served only when `METRICS_TOKEN` is configured, to its bearer;
         *     never shed under load.
         */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/account/search/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Find one account
         * @description SelfCommunity's account search (`AccountService.search`): the one account with this
         *     `username`, or this `email` (each regardless of case), or linked to this `ext_id` of this
         *     `provider` (`external` for the id a platform gave it at `POST /api/v2/sso/signup/`, or any
         *     provider linked through `POST /api/v2/user/{id}/provider/`). Exactly one of the three is
         *     given, else `400`. A page of accounts matching prefixes is `GET /api/v2/user/search/`.
         */
        get: operations["findAccount"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/user/{id}/provider/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The ids other systems know a user by
         * @description SelfCommunity's provider associations (`UserService.getProviderAssociations`): the user's
         *     own, or anyone's for a caller with `view-full-other-user-info`; in the order of their
         *     provider's name.
         */
        get: operations["listUserProviders"];
        put?: never;
        /**
         * Link a user to an id another system knows them by
         * @description SelfCommunity's `UserService.createProviderAssociation`. Other systems find the account by
         *     the pair (`GET /api/v2/account/search/?ext_id=&provider=`), so linking needs the
         *     permission `link-user-identities` (granted by `admin`), for one's own account too. A pair
         *     links one account; an account has one id per provider. For `external` the id is a number
         *     (the v2 User's `ext_id`), `metadata` may be given and `profile_url` and
         *     `show_in_profile` may not.
         */
        post: operations["createUserProvider"];
        /**
         * Unlink a user from an id of another system
         * @description SelfCommunity's `UserService.deleteProviderAssociation`; the permission is that of linking.
         */
        delete: operations["deleteUserProvider"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/sso/signup/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account for a platform's user
         * @description SelfCommunity's `SSOService.SignUp`: an account created by the rules of `POST
         *     /api/v2/account/create/` (permission `create-user`), linked in the same transaction to the
         *     platform's id for it, `ext_id` of the provider `external`, which then finds it (`GET
         *     /api/v2/account/search/?ext_id=4711&provider=external`). Without `password` the account
         *     gets a random one and a mail to choose its own. `role` is granted beside `user`, as a
         *     creator may grant it (`admin` needs `assign-admin-role`). Tags are not kept by this
         *     service: `tags` may only be empty.
         */
        post: operations["ssoSignUp"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/sso/signin/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The user a token signs in
         * @description SelfCommunity's `SSOService.SignIn`, for a user's token (a service client is no user).
         */
        post: operations["ssoSignIn"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/user/search/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Search users
         * @description Finds users by the start of their username or email (regardless of case) and by status,
         *     ordered by id, a page at a time. `GET /api/v2/account/search/` finds one account by its
         *     exact username, email or external id.
         */
        get: operations["searchUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/user/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List users
         * @description SelfCommunity's list of users, a page at a time, ordered by `ordering` (by id unless
         *     given). `search` finds users by the start of their username or of their real name,
         *     `username` and `real_name` by the start of that field (regardless of case).
         *
         *     Any valid token may list. A caller with `view-user-administration` sees every user, of
         *     any status (`status` filters them), each as the full `User`. Any other caller sees only
         *     approved users (status `a`; asking for another `status` is `403` naming `status`), each
         *     as a `PublicUser` (no email, no roles, only the public custom fields), but for
         *     themselves and, with `view-full-other-user-info`, anyone, whom they see in full.
         */
        get: operations["listUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/user/autocomplete/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Users for an autocomplete field
         * @description SelfCommunity's autocomplete: the users whose username or real name starts with
         *     `search` (regardless of case), each as `id`, `username` and `real_name` only, at most
         *     20 on a page. The same users as `GET /api/v2/user/` finds with the same filters:
         *     callers without `view-user-administration` find approved users only.
         */
        get: operations["autocompleteUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/user/match/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The users with these usernames
         * @description SelfCommunity's match: given a list of usernames (as its client sends them, a JSON
         *     array of at most 100), the users that exist with them (regardless of case), once each,
         *     in the order first asked for, as `id`, `username` and `real_name`. Names no user has
         *     are left out. Callers without `view-user-administration` match approved users only.
         *     More than 100 usernames, or one that is not a string of at most 255 characters, is
         *     `400`.
         */
        post: operations["matchUsernames"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/user/me/permission/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * What the current user may do
         * @description SelfCommunity's `UserPermission` for the user of the token. Its fields name what a
         *     member does in a community (posts, polls, groups, follows), which this service does not
         *     hold: it answers them for the account, all `true` for the approved account whose token
         *     this is (a blocked or deleted account has no working token). What this service's own
         *     permission model grants is in `permissions` (every permission the user's roles grant,
         *     as `/api/v2/permission/` names them) and `roles`. A service client's token belongs to
         *     no user: `403 not_a_user`.
         */
        get: operations["getCurrentUserPermission"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/dynamic_preference/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List dynamic preferences
         * @description The registration preferences, as SelfCommunity's dynamic preferences. Every filter is
         *     optional: `search` matches part of a name or its help text (regardless of case),
         *     `section` one section, `keys` a comma-separated list of `section.name` keys.
         */
        get: operations["listPreferences"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change several dynamic preferences at once
         * @description Each key of the body is a preference, as `section.name` or just `name`; each value
         *     must be of the preference's type. Every change is checked before any is made, and all
         *     are made in one transaction: a body with one bad key or value changes nothing.
         *
         *     - `configurations.invite_code` (boolean): when true, account creation needs a valid
         *       invite code (`/api/v2/invite_code/`).
         *     - `configurations.user_metadata_definition` (json): the custom-field registry as one
         *       JSON object keyed by field name, each value a definition as on
         *       `POST /api/v2/custom_field/` without its `name`, except that `label` defaults to
         *       the name and a `null` setting counts as not given (so the value read back can be
         *       written back as it is). Writing it replaces the registry: fields not in it are
         *       deleted together with their values; a field's `type` cannot change. A JSON text or
         *       the object itself is accepted; it reads back as JSON text.
         *
         *     A preference given twice (once as `section.name`, once as `name`) is
         *     `400 duplicate_field`.
         */
        patch: operations["updatePreferences"];
        trace?: never;
    };
    "/api/v2/dynamic_preference/{id}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One dynamic preference */
        get: operations["getPreference"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/feature/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the enabled features
         * @description The features that are enabled, as SelfCommunity lists them; with `all=true`, the
         *     disabled ones too. The `promo_code` feature makes account creation accept promo codes.
         */
        get: operations["listFeatures"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/feature/{name}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Enable or disable a feature */
        patch: operations["updateFeature"];
        trace?: never;
    };
    "/api/v2/invite_code/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List invite codes
         * @description Invite codes, newest first, a page at a time, with who used each and when.
         */
        get: operations["listInviteCodes"];
        put?: never;
        /**
         * Issue an invite code
         * @description Issues an invite code: the one given, or a random, human-readable one
         *     (`XXXX-XXXX-XXXX`, without look-alike characters). Codes are matched regardless of case.
         *     With `email`, only an account with that email can use it; with `forced_username`, only
         *     an account with that username; with `role`, the account also gets that role (the
         *     `admin` role only from a caller with the permission `assign-admin-role`, and any
         *     role only from a caller who has every permission it grants, else `403`); with
         *     `expires_at`, it cannot be used from then on. A code is used once.
         */
        post: operations["createInviteCode"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/invite_code/{code}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Check an invite code
         * @description Whether the code can be used now, and if not why (`used`, `expired`, `revoked`). Only
         *     a caller with the permission `manage-invite-codes` also gets the whole invite
         *     (`invite`), with who issued and who used it.
         */
        get: operations["checkInviteCode"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/invite_code/{code}/revoke/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke an invite code
         * @description From now on the code cannot be used. Revoking a revoked code changes nothing; a code
         *     already used cannot be revoked (`409 invite_code_used`).
         */
        post: operations["revokeInviteCode"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/promo_code/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List promo codes
         * @description Promo codes, newest first, a page at a time, with how often each was used.
         */
        get: operations["listPromoCodes"];
        put?: never;
        /**
         * Create a promo code
         * @description Creates a promo code: the one given, or a random, human-readable one. Codes are matched
         *     regardless of case. It can be redeemed from `valid_from` (now, by default) until
         *     `valid_to` (no end, by default), at most `max_uses` times (no limit, by default), while
         *     it is active.
         */
        post: operations["createPromoCode"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/promo_code/{code}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One promo code
         * @description The promo code, with whether it can be redeemed now (`redeemable`).
         */
        get: operations["getPromoCode"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/promo_code/{code}/redemptions/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The redemptions of a promo code
         * @description Who redeemed the code and when, oldest first, a page at a time.
         */
        get: operations["listPromoRedemptions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/promo_code/{code}/deactivate/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Deactivate a promo code
         * @description From now on the code cannot be redeemed. Deactivating an inactive code changes nothing.
         */
        post: operations["deactivatePromoCode"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/webhook/endpoint/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List webhook endpoints
         * @description SelfCommunity's list of webhook endpoints, a page at a time, ordered by `ordering`
         *     (newest first unless given). An endpoint's signing secret is never part of it: only
         *     `POST .../secret/reveal/` shows it.
         */
        get: operations["listWebhookEndpoints"];
        put?: never;
        /**
         * Create a webhook endpoint
         * @description Registers a URL that is sent the events of the types in `events`, and gives it a new
         *     signing secret (`whsec_` and the base64 of 32 random bytes; read it with
         *     `POST .../secret/reveal/`).
         *
         *     - `target`: an `http` or `https` URL without credentials. Its host, and every address
         *       its name resolves to now, must be public: loopback, private, link-local (cloud
         *       metadata), CGNAT and reserved addresses are refused (`invalid_field`, field `target`)
         *       unless `WEBHOOK_ALLOWED_HOSTS` opens them; a name that does not resolve is refused too.
         *       The relay checks each connection's address again.
         *     - `events`: the types, each one of `GET /api/v2/webhook/endpoint/event/`, each once.
         *     - `is_active` (default true): only active endpoints are sent events.
         *     - `ssl_cert_verification` (default true): false accepts any certificate from this target.
         */
        post: operations["createWebhookEndpoint"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/webhook/endpoint/event/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The event types an endpoint can subscribe to
         * @description Every type of event this service emits, and only those.
         */
        get: operations["listWebhookEventTypes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/webhook/endpoint/{id}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One webhook endpoint
         * @description The endpoint and the event types it subscribes to (without its secret).
         */
        get: operations["getWebhookEndpoint"];
        /**
         * Change a webhook endpoint
         * @description Sets the endpoint as at creation (`target` and `events` required; what is left out takes
         *     its default), under the same rules. An event type it keeps keeps its `added_at`. The
         *     secret stays.
         */
        put: operations["replaceWebhookEndpoint"];
        post?: never;
        /**
         * Delete a webhook endpoint
         * @description The endpoint, its secrets, and its deliveries and their attempts are deleted; nothing more is sent to it.
         */
        delete: operations["deleteWebhookEndpoint"];
        options?: never;
        head?: never;
        /**
         * Change some fields of a webhook endpoint
         * @description Changes the fields given, under the rules of creation; the others stay. `events`, when
         *     given, is the whole new list; a type it keeps keeps its `added_at`.
         */
        patch: operations["updateWebhookEndpoint"];
        trace?: never;
    };
    "/api/v2/webhook/endpoint/{id}/attempt/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The delivery attempts of a webhook endpoint
         * @description Every request the relay made (or tried to make) to the endpoint, a page at a time,
         *     ordered by `ordering` (newest first unless given), each with the event it carried.
         */
        get: operations["listWebhookEndpointAttempts"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/webhook/endpoint/{id}/secret/expire/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Expire an endpoint's signing secret
         * @description Makes a new signing secret the endpoint's current one. The one it replaces expires in
         *     24 hours and signs deliveries beside the new one until then, so the receiver can move
         *     to the new secret without refusing a delivery; one expired by an earlier call stops
         *     signing now, so two secrets sign at most. Read the new one with
         *     `POST .../secret/reveal/`. `password`, when given, must be the caller's (`wrong_password`).
         */
        post: operations["expireWebhookSigningSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/webhook/endpoint/{id}/secret/reveal/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Reveal an endpoint's signing secret
         * @description The endpoint's current signing secret, which the receiver verifies signatures with. The
         *     only answer that ever shows a secret; it is never logged. `password`, when given, must be
         *     the caller's (`wrong_password`).
         */
        post: operations["revealWebhookSigningSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/webhook/endpoint/{id}/event/resend/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send an event to an endpoint again
         * @description Makes the delivery of the event (an outbox event's id, as an attempt's `event.id` gives
         *     it) to the endpoint pending again now, with its attempts counted from zero, whether it
         *     was delivered, failed or never made. The event must exist (`invalid_field`, field
         *     `event`) and be of a type the endpoint subscribes to. `password`, when given, must be
         *     the caller's (`wrong_password`).
         */
        post: operations["resendWebhookEndpointEvent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/webhook/endpoint/{id}/event/resend/bulk/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send several events to an endpoint again
         * @description As `POST .../event/resend/`, for every event in `event`, all or none: one that does not
         *     exist or is of a type the endpoint does not subscribe to refuses the whole request.
         */
        post: operations["resendWebhookEndpointEvents"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/role/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List roles and the permissions they grant */
        get: operations["listRoles"];
        put?: never;
        /**
         * Add a role
         * @description Adds a role granting the permissions given (none by default). Every permission must be
         *     one of `/api/v2/permission/` (`400 unknown_permission`) and one the caller has
         *     (`403`: managing roles is no way to gain a permission); a role's name is unique
         *     (`409 role_exists`).
         */
        post: operations["createRole"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/role/{name}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change a role's description or permissions
         * @description `permissions` replaces the permissions the role grants; the caller must have each of
         *     them, and every permission the role grants before the change too, whatever it changes
         *     (`403`): no one takes away what they could not grant. The `admin` role grants every
         *     permission and cannot change (`400 protected_role`), so no change can lock every admin
         *     out.
         */
        patch: operations["updateRole"];
        trace?: never;
    };
    "/api/v2/audit/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read the audit log
         * @description Who did what to whom: the entries written with every change, newest first, a page at a
         *     time. `actor` and `subject` take a user's id or a service client's `client_id`;
         *     `action` an action's name (`account.create`, `user.update`, `client.create`, ...);
         *     `since` and `until` (ISO-8601 date-times) bound the time, `since` included, `until`
         *     not. A filter that is not valid is `400` naming its parameter. An entry names a user
         *     by `user_id` and a service client by `client_id`; both are null for the service itself
         *     (the first admin, the operator's CLI), and a deleted user's id reads null.
         */
        get: operations["listAuditEntries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/permission/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the permissions
         * @description Every permission a role can grant, one per protected capability, ordered by name.
         */
        get: operations["listPermissions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/moderation/user/{id}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Block, unblock or delete a user (moderation)
         * @description SelfCommunity's moderation of a user. `status` `b` blocks the user and `a` unblocks
         *     them, with the permission `edit-other-user-active-status`; `d` deletes the user as
         *     `DELETE /api/v2/user/{id}/` does (hard with `hard=1`), and `u` deletes hard, with
         *     `delete-user`. The caller must also hold every permission the user has (else `403`);
         *     nobody moderates themselves, and the last active admin is never blocked nor deleted
         *     (`403 last_admin`). Blocking ends every refresh token of the user, and their access
         *     tokens stop working at once. A block that ends by itself (`days_blocked`) is not
         *     supported: it is `400 unsupported_field`; block, and unblock later. Setting the
         *     status the user has already changes nothing. The change, an audit entry and a
         *     `user.blocked` / `user.unblocked` event (`{id, by, at}`) are written in one
         *     transaction. `days_blocked` and `hard` are taken from the query (as SelfCommunity's
         *     client sends them) or the body (as its documentation shows them).
         */
        patch: operations["moderateUser"];
        trace?: never;
    };
    "/api/v2/user/{id}/roles/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Set a user's roles
         * @description Replaces the user's roles with `roles`, with the permission `assign-roles`, under the
         *     grant rules of account creation: every role must exist (`400 unknown_role`, naming
         *     `roles[i]`), the caller must hold every permission a role added grants, `admin` also
         *     needs `assign-admin-role`, and the caller must hold every permission the user has
         *     (else `403`). The last active admin keeps the `admin` role (`403 last_admin`). The
         *     change, an audit entry and a `user.roles_changed` event (`{id, added, removed}`) are
         *     written in one transaction; the caller's and the user's tokens carry the new roles
         *     at once, as roles are read on every request. SelfCommunity has no such call.
         */
        put: operations["setUserRoles"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/oauth/client/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the service clients
         * @description Newest first, a page at a time. Secrets are never shown again.
         */
        get: operations["listClients"];
        put?: never;
        /**
         * Create a service client
         * @description A principal of its own for another service, which gets access tokens with
         *     `grant_type=client_credentials`. Its roles give it permissions, as a user's do; a
         *     caller can only give roles whose every permission it holds (`admin` also needs
         *     `assign-admin-role`), so no one makes a client that can do more than they can.
         *     `scope` limits what its tokens may do (`read`, `write`; both by default).
         *
         *     The answer carries `client_secret`, 256 random bits shown **only here** (and when it is
         *     rotated): it is stored as a hash. The operator's CLI does the same:
         *     `npx account-service client create --name mailer --role bot`.
         */
        post: operations["createClient"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v2/oauth/client/{client_id}/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One service client */
        get: operations["getClient"];
        put?: never;
        post?: never;
        /**
         * Delete a service client
         * @description Its tokens stop working at once, its refresh tokens are revoked, and its `client_id` is
         *     never given out again (the records that name it still do). Deleting a client takes
         *     every permission it has.
         */
        delete: operations["deleteClient"];
        options?: never;
        head?: never;
        /**
         * Change a service client
         * @description Changes the name, the roles (replaced by those given, with the rule of creation), the
         *     scope and whether it is enabled. A disabled client gets no token, and every token it
         *     has stops working at once (as do the tokens of users obtained through it); enabling it
         *     again lets the ones not yet expired work again. Changing a client takes every
         *     permission it has now.
         */
        patch: operations["updateClient"];
        trace?: never;
    };
    "/api/v2/oauth/client/{client_id}/rotate_secret/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Give a service client a new secret
         * @description The old secret stops working at once; the new one is in this answer only. Tokens the
         *     client already has stay valid until they expire (disable the client to stop them as
         *     well). Rotating takes every permission the client has.
         */
        post: operations["rotateClientSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log in (Rocket.Chat)
         * @description Rocket.Chat's `login`. The login is given as `user` (a username or an email, or
         *     `{ username }` / `{ email }`), or as `username` or `email`: exactly one of the three.
         *     Usernames and emails match regardless of case.
         *
         *     Success returns our access token as `authToken` (the same JWT as `POST /oauth/token/`)
         *     and the user's id as `userId`: send them as `X-Auth-Token` and `X-User-Id` (or the
         *     token as `Authorization: Bearer`). `me` is the user, with `requirePasswordChange`.
         *
         *     An unknown user and a wrong password get the same `401 Unauthorized`, after the same
         *     work. A user who is not active (created with `active: false`, or blocked) gets
         *     `401 error-user-is-not-activated`, but only with the right password.
         */
        post: operations["rocketChatLogin"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.setActiveStatus": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Block or unblock a user (Rocket.Chat)
         * @description Rocket.Chat's `users.setActiveStatus`, on the same core as
         *     `PATCH /api/v2/moderation/user/{id}/`: `activeStatus` false blocks the user (v2
         *     status `b`), true unblocks them, with the permission `edit-other-user-active-status`
         *     and every permission the user has. Nobody sets their own status, and the last active
         *     admin is never blocked (`error-action-not-allowed`, as Rocket.Chat answers). An
         *     unknown user is `error-invalid-user`. `confirmRelinquish` is accepted and not used:
         *     this service knows no rooms.
         */
        post: operations["rocketChatSetActiveStatus"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.delete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Delete a user (Rocket.Chat)
         * @description Rocket.Chat's `users.delete`, on the same core as `DELETE /api/v2/user/{id}/` (soft):
         *     the user is given as `userId` or `username` (exactly one), and deleting another user
         *     takes `delete-user` and every permission they have (`error-action-not-allowed`). The
         *     last active admin is never deleted. An unknown user is `error-invalid-user`.
         *     `confirmRelinquish` is accepted and not used: this service knows no rooms.
         */
        post: operations["rocketChatDeleteUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.generatePersonalAccessToken": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Make a personal access token (Rocket.Chat)
         * @description Rocket.Chat's `users.generatePersonalAccessToken`: a token for the caller's own account,
         *     named `tokenName` (unique among the user's, else `error-token-already-exists`), shown only in
         *     this answer and kept as a hash. It is used as `X-Auth-Token` with `X-User-Id` on this surface,
         *     with every scope, until it is removed or regenerated, its user's password changes, or its
         *     user is blocked or deleted. Making one takes a token with every scope (`insufficient_scope`
         *     otherwise): a token narrowed by its client or grant mints no wider one.
         *     `bypassTwoFactor` is kept and shown: this service has no second factor. A service client has
         *     no personal tokens (`error-action-not-allowed`).
         */
        post: operations["rocketChatGeneratePersonalAccessToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.regeneratePersonalAccessToken": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Give a personal access token a new secret (Rocket.Chat)
         * @description Rocket.Chat's `users.regeneratePersonalAccessToken`: the token named `tokenName` gets a new
         *     secret, shown this once; the old one stops working at once. An unknown name is
         *     `error-token-does-not-exists`.
         */
        post: operations["rocketChatRegeneratePersonalAccessToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.getPersonalAccessTokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's personal access tokens (Rocket.Chat)
         * @description Rocket.Chat's `users.getPersonalAccessTokens`: the caller's tokens in the order they were
         *     made, each with the last six characters of its secret, never the secret.
         */
        get: operations["rocketChatGetPersonalAccessTokens"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.removePersonalAccessToken": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Remove a personal access token (Rocket.Chat)
         * @description Rocket.Chat's `users.removePersonalAccessToken`: the token named `tokenName` stops working at
         *     once. An unknown name is `error-token-does-not-exists`.
         */
        post: operations["rocketChatRemovePersonalAccessToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.deleteOwnAccount": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Delete one's own account (Rocket.Chat)
         * @description Rocket.Chat's `users.deleteOwnAccount`: the user of the credentials deletes their
         *     account (softly, as `DELETE /api/v2/user/{id}/`), proving their password, which
         *     Rocket.Chat's clients send as its SHA-256 in hex; the password itself is accepted too.
         *     A wrong password is `error-invalid-password`; the last active admin cannot delete
         *     themselves (`error-action-not-allowed`). `confirmRelinquish` is accepted and not used.
         */
        post: operations["rocketChatDeleteOwnAccount"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create a user (Rocket.Chat)
         * @description Rocket.Chat's `users.create`, on the same core as `POST /api/v2/account/create/`:
         *     every rule of that operation holds here too, including the password policy (which
         *     Rocket.Chat skips on create) and reserved usernames (`error-blocked-username`). It
         *     takes no invite or promo code: while the preference `configurations.invite_code` is
         *     on, it is refused (`invite-code-required`), as v2 is without a code.
         *
         *     - `name` is the real name; `email`, `name`, `password`, `username` are required and
         *       must not be empty (`error-the-field-is-required`).
         *     - `roles` (default `['user']`, also when the list is empty, as in Rocket.Chat): every
         *       role must exist, and the caller must hold every permission a role grants; `admin`
         *       also needs `assign-admin-role` (`error-action-not-allowed`).
         *     - `active` (default true): an inactive user is stored blocked (v2 status `b`) and
         *       cannot log in. `verified` (default false) sets whether the email is verified.
         *     - `requirePasswordChange` (default false) is stored and returned in `me` at login;
         *       until the user changes their password, every operation but reading themselves and
         *       changing it answers `error-password-change-required`.
         *       `setRandomPassword` replaces `password` with a generated strong one (never returned),
         *       sets `requirePasswordChange`, and mails the user a code to choose a password
         *       (`POST /api/v2/account/reset/`) instead of the verification mail. Without mail
         *       (production without `SMTP_URL`) such an account could never be logged into: it is
         *       refused with `503 mail-not-configured`, and nothing is written.
         *     - `sendWelcomeEmail` (default false) mails a welcome; it and `joinDefaultChannels`
         *       (default true) are stored and carried on the `user.created` event for the services
         *       that act on them.
         *     - `bio` (at most 260 characters), `nickname` (120) and `statusText` (120) are stored
         *       and returned.
         *     - `customFields`: values of the fields defined in the registry; a required field is
         *       refused when missing even if `customFields` is omitted.
         *     - `fields` and `freeSwitchExtension` are accepted for compatibility and not used.
         *     - `null` for an optional parameter means it is not given.
         *
         *     The response never carries `services` or a password hash, unlike the seed's example.
         *     Errors are Rocket.Chat's (`RocketChatError`); a caller without `create-user` gets
         *     `400 error-action-not-allowed`, as Rocket.Chat answers.
         */
        post: operations["rocketChatCreateUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.update": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Change a user (Rocket.Chat)
         * @description Rocket.Chat's `users.update`, on the same core as `PATCH /api/v2/user/{id}/`: every
         *     rule of that operation holds here too. `data` names what changes: `name` (the real
         *     name), `username`, `bio` (260 characters), `nickname` and `statusText` (120 each), and
         *     `customFields`; what it leaves out keeps its value, and `null` means not given. A user
         *     may change themselves; changing another user needs `edit-other-user-info` and every
         *     permission that user has (`error-action-not-allowed`). A change that would leave the user
         *     without a value for a mandatory custom field is refused
         *     (`error-user-registration-custom-field`), even if `customFields` does not name it.
         *
         *     The rest of `data` is an admin's, each part by the rule of the call that makes it alone,
         *     and needs its permission and every permission the user has, for oneself too:
         *     `email` changes the email at once (`edit-other-user-info`; `error-field-unavailable` when
         *     another account has it), verified if `verified` is true, else mailed a verification code,
         *     and the old address is told; `verified` alone marks the current email verified or not
         *     (`edit-other-user-info`); `password` sets a password (the password policy; every token of
         *     the user stops working; the user is mailed a notice) and `setRandomPassword` a generated
         *     one nobody is told, with a code mailed to the user to choose their own
         *     (`edit-other-user-password`; not both: `conflicting-fields`); `requirePasswordChange`
         *     (`edit-other-user-password`) makes the user change their password at their next login
         *     (set by `setRandomPassword`); `active` blocks or unblocks as `users.setActiveStatus`
         *     does and `roles` replaces the roles as `PUT /api/v2/user/{id}/roles/` does (never the
         *     last active admin's status or admin role); `sendWelcomeEmail` mails the welcome mail
         *     (`send-mail`). What equals what the account has already changes nothing and needs no
         *     permission, so a client may send a user's whole form back. All of one call is made in
         *     one transaction: a refusal of any part changes nothing. `setRandomPassword` and
         *     `sendWelcomeEmail` need mail (`503 mail-not-configured`).
         *
         *     `status` (presence, not tracked here), `freeSwitchExtension` and `confirmRelinquish` are
         *     accepted and not used. An unknown `userId` is `error-invalid-user`.
         */
        post: operations["rocketChatUpdateUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.updateOwnBasicInfo": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Change one's own profile (Rocket.Chat)
         * @description Rocket.Chat's `users.updateOwnBasicInfo`: the caller changes their own `name`,
         *     `username`, `bio`, `nickname`, `statusText` and (top-level) `customFields`, with the
         *     rules of `users.update`. `newPassword` with `currentPassword` changes the password as
         *     `PATCH /api/v2/user/{id}/change_password/` does (the password policy, a password-changed
         *     mail; every token of the account stops working, this one too: log in again); it is
         *     checked, with the rest of the change, before anything is written. A new `email` is asked
         *     for as `PATCH /api/v2/user/{id}/change_email/` asks for it: a code is mailed to the new
         *     address, and the email changes when `POST /api/v2/user/{id}/confirm_email/` spends it
         *     (the answer still shows the current one; an address another account has gets no mail and
         *     the same answer; without mail, `503 mail-not-configured`). `statusType` (presence, not
         *     tracked here) is accepted and not used.
         */
        post: operations["rocketChatUpdateOwnBasicInfo"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.info": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read a user (Rocket.Chat)
         * @description Rocket.Chat's `users.info`, by `userId` or by `username` (exactly one; the username
         *     regardless of case). Callers with `view-full-other-user-info`, and users reading
         *     themselves, get the full user; others get the public view: no emails, roles,
         *     settings or `requirePasswordChange`, and only the custom fields marked public. An
         *     unknown user is `400 error-invalid-user`, as Rocket.Chat answers. `fields` and
         *     `includeUserRooms`, which Rocket.Chat's clients may send, are accepted and not used:
         *     the whole view is always returned, and rooms are not known to this service.
         */
        get: operations["rocketChatUserInfo"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.forgotPassword": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mail a recovery code (Rocket.Chat)
         * @description Rocket.Chat's `users.forgotPassword`, on the same core as `POST
         *     /api/v2/account/recover/`: the active account with this email (regardless of case) is
         *     mailed a recovery code, and the answer is `{success: true}` whether or not such an
         *     account exists, no sooner than a fixed delay either way. An invalid email is `400
         *     error-invalid-email`. Without a mail server configured in production, `503
         *     mail_not_configured`.
         */
        post: operations["rocketChatForgotPassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.sendConfirmationEmail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mail a new verification code (Rocket.Chat)
         * @description Rocket.Chat's `users.sendConfirmationEmail`: mails a new verification code (replacing
         *     the older) to the account with this email, for `POST /api/v2/account/verify/`. Any
         *     logged-in user may ask it for their own email; for another account's, the caller needs
         *     `send-mail` (`400 error-action-not-allowed` otherwise, whether or not the email has an
         *     account). An account whose email is verified gets no mail: `400
         *     email-already-verified`; an email no account has is `400 error-invalid-user`.
         *     Without a mail server configured in production, `503 mail_not_configured`.
         */
        post: operations["rocketChatSendConfirmationEmail"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.sendWelcomeEmail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mail the welcome mail (Rocket.Chat)
         * @description Rocket.Chat's `users.sendWelcomeEmail`: mails the welcome mail to the account with this
         *     email. The caller needs `send-mail`, as in Rocket.Chat (the `admin` role grants it; `400
         *     error-action-not-allowed` otherwise). An email no account has is `400
         *     error-invalid-user`. Without a mail server configured in production, `503
         *     mail_not_configured` (where Rocket.Chat answers `400 error-email-send-failed`).
         */
        post: operations["rocketChatSendWelcomeEmail"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/settings/Accounts_CustomFields": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read the custom fields (Rocket.Chat's Accounts_CustomFields)
         * @description The custom-field registry in Rocket.Chat's `Accounts_CustomFields` format, as the JSON
         *     text Rocket.Chat keeps it in. `string` fields are `text` and `enum` fields `select`;
         *     fields of our other types (`integer`, `url`, `email`, `phone_number`) have no
         *     Rocket.Chat type and are shown as `text` with their rules unchanged.
         */
        get: operations["rocketChatGetCustomFieldsSetting"];
        put?: never;
        /**
         * Replace the custom fields (Rocket.Chat's Accounts_CustomFields)
         * @description Replaces the custom-field registry with the fields of an `Accounts_CustomFields` value,
         *     given as the JSON text Rocket.Chat keeps (or as the object itself). Each key is a
         *     field name; its settings are `type` (`text` → `string`, `select` → `enum`; default
         *     `text`), `required`, `minLength`, `maxLength`, `options` (a `select`'s values),
         *     `defaultValue` and `public` (shown to every user by `users.info`). Any other setting
         *     is refused. Fields missing from the value are deleted; a field's type cannot change.
         *     What Rocket.Chat cannot express is kept, so the value read can be written back: an
         *     existing field keeps its label (a new field's label is its name), and `text` keeps
         *     the type of an existing field of a type Rocket.Chat has not (`integer`, `url`, ...).
         *     It is the same replacement as the preference `configurations.user_metadata_definition`,
         *     in one transaction: a bad field changes nothing.
         */
        post: operations["rocketChatSetCustomFieldsSetting"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List users (Rocket.Chat)
         * @description Rocket.Chat's `users.list`, on the same core as `GET /api/v2/user/` and with its rules
         *     of who sees what: callers with `view-user-administration` see every user, active or
         *     not; others only active users. Callers with `view-full-other-user-info` (or
         *     `view-user-administration`), and users for themselves, get the full user; others the
         *     public view.
         *
         *     - `count` (default 20, at most 100) and `offset` page the list; the answer has
         *       `count` (on this page), `offset` and `total`.
         *     - `sort`: a JSON object of one key, `_id`, `createdAt` (both the order of creation),
         *       `username` or `name`, and `1` or `-1`, as `{"username": 1}`.
         *     - `query`: a JSON object of these keys only: `username` (a username, regardless of
         *       case), `name` (the start of the name) and `active` (`true` or `false`; `false` needs
         *       `view-user-administration`). Rocket.Chat's other query operators are refused with
         *       `400 invalid-params` naming `query`, not ignored.
         *     - `email`: the start of the email (an address matches itself), for callers with
         *       `view-user-administration` only.
         *     - `fields` is accepted for compatibility; the whole view is always returned.
         */
        get: operations["rocketChatListUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.checkUsernameAvailability": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Whether a username can be registered (Rocket.Chat)
         * @description Rocket.Chat's `users.checkUsernameAvailability`: `result` is `true` when an account
         *     could be created with this username now, by the rules of creation: the username's
         *     pattern (1 to 255 letters, digits, `_` or `-`), not reserved, and not taken by any
         *     account, regardless of case (a deleted account's name may stay taken).
         */
        get: operations["rocketChatCheckUsernameAvailability"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users.getUsernameSuggestion": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A free username for the caller (Rocket.Chat)
         * @description Rocket.Chat's `users.getUsernameSuggestion`: a username that is free now (valid, not
         *     reserved, not taken) made from the caller's name, else from their email's local part,
         *     else `user`; when that is taken, with `-1`, `-2`, ... after it. A service client's
         *     token belongs to no user: `400 error-action-not-allowed`.
         */
        get: operations["rocketChatGetUsernameSuggestion"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface webhooks {
    "user.created": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** An account was created (by either door). */
        post: operations["webhookUserCreated"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "user.updated": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A user's profile changed. */
        post: operations["webhookUserUpdated"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "user.email_changed": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A user's email address changed. */
        post: operations["webhookUserEmailChanged"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "user.email_verified": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A user verified their email address. */
        post: operations["webhookUserEmailVerified"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "user.password_changed": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A user's password changed (never the password itself). */
        post: operations["webhookUserPasswordChanged"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "user.blocked": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A user was blocked. */
        post: operations["webhookUserBlocked"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "user.unblocked": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A user was unblocked. */
        post: operations["webhookUserUnblocked"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "user.deleted": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A user was deleted; `data.user` is null after a hard deletion. */
        post: operations["webhookUserDeleted"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "user.roles_changed": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A user's roles changed. */
        post: operations["webhookUserRolesChanged"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface components {
    schemas: {
        /** @description An account was created (by either door). SelfCommunity's webhook envelope. */
        UserCreatedEvent: {
            /** @enum {string} */
            type: "user.created";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                /** @description The user. */
                id: number;
                username?: string;
                /** Format: email */
                email?: string;
                /** @description The roles given at creation. */
                roles?: string[];
                /** @description The user who created it; null for a self-registration or a service client. */
                created_by?: number | null;
                /** @description The service client that created it, if one did. */
                created_by_client?: string | null;
                /**
                 * Format: date-time
                 * @description When it was created.
                 */
                date_joined?: string;
                active?: boolean;
                email_verified?: boolean;
                require_password_change?: boolean;
                /** @description Whether the receiver should send a welcome (carried for the services that act on it). */
                send_welcome_email?: boolean;
                /** @description Whether a chat server should put the user in its default channels. */
                join_default_channels?: boolean;
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description A user's profile changed. SelfCommunity's webhook envelope. */
        UserUpdatedEvent: {
            /** @enum {string} */
            type: "user.updated";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                id: number;
                /** @description The fields that changed. */
                changed?: string[];
                /** @description The user who changed it. */
                updated_by?: number | null;
                /** @description The service client that changed it, if one did. */
                updated_by_client?: string | null;
                /**
                 * Format: date-time
                 * @description When.
                 */
                updated_at?: string;
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description A user's email address changed. SelfCommunity's webhook envelope. */
        UserEmailChangedEvent: {
            /** @enum {string} */
            type: "user.email_changed";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                id: number;
                /**
                 * Format: email
                 * @description The new address.
                 */
                email?: string;
                /** @description Whether the new address is verified. */
                email_isvalid?: boolean;
                /** @description The user who changed it. */
                changed_by?: number | null;
                /** @description The service client that changed it, if one did. */
                changed_by_client?: number | null;
                /**
                 * Format: date-time
                 * @description When.
                 */
                changed_at?: string;
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description A user verified their email address. SelfCommunity's webhook envelope. */
        UserEmailVerifiedEvent: {
            /** @enum {string} */
            type: "user.email_verified";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                id: number;
                /** Format: email */
                email?: string;
                /**
                 * Format: date-time
                 * @description When.
                 */
                verified_at?: string;
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description A user's password changed (never the password itself). SelfCommunity's webhook envelope. */
        UserPasswordChangedEvent: {
            /** @enum {string} */
            type: "user.password_changed";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                id: number;
                /**
                 * Format: date-time
                 * @description When.
                 */
                changed_at?: string;
                /**
                 * @description Who changed it: the user, an admin, a recovery by mail, or the operator's CLI.
                 * @enum {string}
                 */
                by?: "user" | "admin" | "recovery" | "operator";
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description A user was blocked. SelfCommunity's webhook envelope. */
        UserBlockedEvent: {
            /** @enum {string} */
            type: "user.blocked";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                id: number;
                /** @description The admin who blocked them. */
                by?: number | null;
                /**
                 * Format: date-time
                 * @description When.
                 */
                at?: string;
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description A user was unblocked. SelfCommunity's webhook envelope. */
        UserUnblockedEvent: {
            /** @enum {string} */
            type: "user.unblocked";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                id: number;
                /** @description The admin who unblocked them. */
                by?: number | null;
                /**
                 * Format: date-time
                 * @description When.
                 */
                at?: string;
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description A user was deleted; `data.user` is null after a hard deletion. SelfCommunity's webhook envelope. */
        UserDeletedEvent: {
            /** @enum {string} */
            type: "user.deleted";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                id: number;
                /** @description Whether the account was erased, not only marked deleted. */
                hard?: boolean;
                /**
                 * Format: date-time
                 * @description When.
                 */
                at?: string;
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description A user's roles changed. SelfCommunity's webhook envelope. */
        UserRolesChangedEvent: {
            /** @enum {string} */
            type: "user.roles_changed";
            /**
             * Format: date-time
             * @description When the event happened.
             */
            created: string;
            /** @description The event's payload, and the user it is about. */
            data: {
                id: number;
                added?: string[];
                removed?: string[];
                /** @description The v2 User when the event was dispatched; null when the user no longer exists. */
                user: components["schemas"]["User"] | null;
            };
        };
        /** @description The one error body of every endpoint. */
        ApiError: {
            /** @description The HTTP status code. */
            statusCode: number;
            /** @description Machine-readable reason, stable across versions. */
            code: string;
            /** @description Human-readable explanation. */
            message: string;
            /** @description The request field at fault, when there is one. */
            field?: string;
            requestId: components["schemas"]["RequestId"];
        };
        /**
         * @description The request's id, as in the `X-Request-Id` header of the answer and on the request's log
         *     lines: quote it when reporting a failure.
         * @example 4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90
         */
        RequestId: string;
        /**
         * @description The standard fields below, plus one top-level key for each custom field defined in the
         *     registry. Any other key is refused with `400 unknown_field`.
         */
        AccountCreateRequest: {
            /** @description Letters, digits, `_` and `-`; unique regardless of case. */
            username: string;
            /**
             * Format: email
             * @description Unique regardless of case.
             */
            email: string;
            /** @description At least 3 of lower case, upper case, digit, special; not containing the username; not a common password. */
            password: string;
            real_name?: string;
            /** @description An invite code, regardless of case; its rules are those of `POST /api/v2/account/create/`. */
            invite_code?: string;
            /** @description A promo code, regardless of case; its rules are those of `POST /api/v2/account/create/`. */
            promo_code?: string;
        } & {
            [key: string]: unknown;
        };
        PasswordChangeRequest: {
            /** @description The current password. */
            password: string;
            /** @description The new password. */
            new_password: string;
        };
        ValidationCodeRequest: {
            /** @description The code of the mail (also in its link's `validation_code` parameter). */
            validation_code: string;
        };
        RecoverRequest: {
            /** @description The email of the account to recover. */
            email: string;
        };
        ResetRequest: {
            /** @description The code of the recovery mail. */
            validation_code: string;
            /** @description The new password, under the password policy of account creation. */
            password: string;
        };
        EmailChangeRequest: {
            /** @description The address the account's email is to become. */
            new_email: string;
            /**
             * @description For an admin changing another user's email: true mails a code to the new address, as
             *     for the user's own request; false or absent changes it at once. The user's own
             *     request is always confirmed by a code.
             */
            confirm?: boolean;
            /** @description Accepted for SelfCommunity's client, and not used. */
            send_email?: boolean;
        };
        EmailConfirmRequest: {
            /** @description The address the code was mailed to. */
            new_email: string;
            /** @description The code of the mail (also in its link's `validation_code` parameter). */
            validation_code: string;
        };
        /** @description SelfCommunity's answer of a verification or a reset. */
        AccountTokenResponse: {
            token: {
                /** @description A JWT (RFC 9068), as the token endpoint issues. */
                access_token: string;
                /** @description Seconds until the access token expires (`JWT_EXPIRES_IN`). */
                expires_in: number;
                /** @enum {string} */
                token_type: "Bearer";
                /** @description For `grant_type=refresh_token` at `/oauth/token/`. */
                refresh_token: string;
                /** @description Always null: these tokens are issued to no service client. */
                client_id: null;
                /** @description The scopes granted, space-separated (`read write`). */
                scope: string;
            };
        };
        /** @description An id by which another system (`provider`) knows the user. */
        UserProviderAssociation: {
            user_id: number;
            provider: string;
            ext_id: string;
            profile_url: string | null;
            metadata: {
                [key: string]: unknown;
            } | null;
            show_in_profile: boolean;
        };
        UserProviderAssociationKey: {
            /** @description SelfCommunity's client sends it; it must be the user of the path. */
            user_id?: number | string;
            /** @description A provider's name, `external` for a platform of one's own. */
            provider: string;
            /** @description The id, at most 255 characters; for `external` a number (digits). */
            ext_id: string | number;
        };
        UserProviderAssociationRequest: {
            /** @description SelfCommunity's client sends it; it must be the user of the path. */
            user_id?: number | string;
            /** @description A provider's name, `external` for a platform of one's own. */
            provider: string;
            /** @description The id, at most 255 characters; for `external` a number (digits). */
            ext_id: string | number;
            /**
             * Format: uri
             * @description The user's profile at the provider; not for `external`.
             */
            profile_url?: string;
            /** @description Any JSON object of at most 4 KiB; only for `external`. */
            metadata?: {
                [key: string]: unknown;
            };
            /** @description Default false; not for `external`. */
            show_in_profile?: boolean;
        };
        SsoSignUpRequest: {
            /** @description The platform's id of the user, a number (also as digits); unique. */
            ext_id?: number | string;
            username: string;
            /** Format: email */
            email: string;
            /** @description By the rules of account creation; without it, a random one and a mail to choose one. */
            password?: string;
            real_name?: string;
            /** @description A role granted beside `user` (`admin`, `moderator`, ...). */
            role?: string | null;
            tags?: number[] | null;
        };
        SsoSignUp: {
            id: number;
            ext_id: number | null;
            username: string;
            email: string;
            /** @description The role granted beside `user`, or null. */
            role: string | null;
            tags: null;
        };
        SsoSignIn: {
            id: number;
            ext_id: number | null;
            username: string;
            /** @description The user's foremost role beside `user` (`admin` first), or null. */
            role: string | null;
            tags: null;
        };
        /**
         * @description A user, as SelfCommunity's User type (the fields that apply), plus `roles` and one
         *     key for each custom field that has a value.
         */
        User: {
            id: number;
            /** @description The id the account has at the provider `external` (a platform's own, given at `POST /api/v2/sso/signup/`), or null. */
            ext_id?: number | null;
            username: string;
            /** @description Empty when not given. */
            real_name: string;
            /** @description Empty when not given. */
            bio: string;
            /** @description Empty when not given. */
            location: string;
            /**
             * Format: date
             * @description YYYY-MM-DD; null when not given.
             */
            date_of_birth: string | null;
            /** @description Empty when not given. */
            description: string;
            gender: components["schemas"]["Gender"];
            /** @description An http or https URL; empty when not given. */
            website: string;
            /** Format: email */
            email: string;
            /** @description Whether the email address has been verified. */
            email_isvalid: boolean;
            /** Format: date-time */
            date_joined: string;
            /**
             * @description a (approved), b (blocked), u (unregistered, deleted).
             * @enum {string}
             */
            status: "a" | "b" | "u";
            roles: string[];
        } & {
            [key: string]: unknown;
        };
        /** @description An error of the OAuth2 endpoints, as RFC 6749 §5.2 shapes it. */
        OAuthError: {
            /** @enum {string} */
            error: "invalid_request" | "invalid_client" | "invalid_grant" | "unauthorized_client" | "unsupported_grant_type" | "invalid_scope" | "temporarily_unavailable" | "server_error";
            /** @description What went wrong, for a human. */
            error_description: string;
            request_id: components["schemas"]["RequestId"];
        };
        /** @description RFC 6749's token request; which parameters are needed depends on `grant_type`. Unknown parameters are ignored. */
        TokenRequest: {
            /** @description `password`, `refresh_token` or `client_credentials`. */
            grant_type: string;
            /** @description For `password`, a username or an email address. */
            username?: string;
            /** @description For `password`. */
            password?: string;
            /** @description For `refresh_token`. */
            refresh_token?: string;
            /** @description The scopes wanted (`read`, `write`, space-separated); by default all that are allowed. */
            scope?: string;
            /** @description A service client's id, when it authenticates in the body (client_secret_post). */
            client_id?: string;
            /** @description With `client_id`. */
            client_secret?: string;
        } & {
            [key: string]: unknown;
        };
        TokenResponse: {
            /** @description A JWT (RFC 9068) signed with the key the JWKS names by its `kid`. */
            access_token: string;
            /** @enum {string} */
            token_type: "Bearer";
            /** @description Seconds until the access token expires (`JWT_EXPIRES_IN`). */
            expires_in: number;
            /** @description The scopes granted, space-separated. */
            scope: string;
            /** @description Only for the password and refresh_token grants. Opaque, single-use (each refresh answers a new one), valid `REFRESH_TOKEN_EXPIRES_IN` seconds. */
            refresh_token?: string;
        };
        RevocationRequest: {
            /** @description A refresh token or an access token. */
            token: string;
            /** @description `refresh_token` or `access_token`; not needed. */
            token_type_hint?: string;
            client_id?: string;
            client_secret?: string;
        } & {
            [key: string]: unknown;
        };
        IntrospectionRequest: {
            token: string;
            token_type_hint?: string;
            client_id?: string;
            client_secret?: string;
        } & {
            [key: string]: unknown;
        };
        /** @description RFC 7662's answer. Beside `active`, the fields are there only for an active token. */
        IntrospectionResponse: {
            active: boolean;
            /** @enum {string} */
            token_type?: "Bearer" | "refresh_token";
            /** @description What the token may do now (no more than its client allows today). */
            scope?: string;
            /** @description The client the token was issued to, if any. */
            client_id?: string;
            /** @description For a user's access token, the grant it came from (its refresh-token family). Revoking the grant ends the token too. */
            sid?: string;
            /** @description The user's, for a user's token. */
            username?: string;
            /** @description The user's id in decimal, or the service client's `client_id`. */
            sub?: string;
            aud?: string;
            iss?: string;
            iat?: number;
            exp?: number;
            jti?: string;
            roles?: string[];
            /** @description There only for a user who must change the password someone else chose (Rocket.Chat's `requirePasswordChange`) before anything else; their access tokens carry the same claim. Refuse such a token everything but letting its user change the password. */
            pwd_change_required?: boolean;
        };
        /** @description A public key (RFC 7517); EC keys have `crv`, `x`, `y`, RSA keys `n`, `e`. */
        JsonWebKey: {
            /** @enum {string} */
            kty: "EC" | "RSA";
            kid: string;
            /** @enum {string} */
            alg: "ES256" | "RS256";
            /** @enum {string} */
            use: "sig";
            crv?: string;
            x?: string;
            y?: string;
            n?: string;
            e?: string;
        };
        JsonWebKeySet: {
            keys: components["schemas"]["JsonWebKey"][];
        };
        /** @description RFC 8414's metadata. */
        AuthorizationServerMetadata: {
            /** @description The `iss` of every token (`JWT_ISSUER`). */
            issuer: string;
            token_endpoint: string;
            jwks_uri: string;
            revocation_endpoint: string;
            introspection_endpoint: string;
            grant_types_supported: string[];
            response_types_supported: string[];
            scopes_supported: string[];
            token_endpoint_auth_methods_supported: string[];
            revocation_endpoint_auth_methods_supported: string[];
            introspection_endpoint_auth_methods_supported: string[];
            service_documentation: string;
        };
        /**
         * @description A user as callers who may not see all of them see them: no email, no roles, and only
         *     the custom fields marked public, each as a top-level key.
         */
        PublicUser: {
            id: number;
            username: string;
            real_name: string;
            /** Format: date-time */
            date_joined: string;
            /** @enum {string} */
            status: "a" | "b" | "u";
        } & {
            [key: string]: unknown;
        };
        UserListPage: {
            /** @description How many results there are in all pages. */
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: (components["schemas"]["User"] | components["schemas"]["PublicUser"])[];
        };
        /** @description A user as SelfCommunity's autocomplete and match show one. */
        UserAutocomplete: {
            id: number;
            username: string;
            real_name: string;
        };
        UserAutocompletePage: {
            /** @description How many results there are in all pages. */
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["UserAutocomplete"][];
        };
        /** @description The usernames to look up, at most 100. */
        UserMatchRequest: string[];
        /**
         * @description SelfCommunity's UserPermission (the community's capabilities, `true` for an approved
         *     account), with this service's own `permissions` and `roles`.
         */
        UserPermission: {
            create_contribute: boolean;
            create_poll: boolean;
            create_group: boolean;
            create_event: boolean;
            create_course: boolean;
            create_live_stream: boolean;
            upload_video: boolean;
            locate_post: boolean;
            create_post: boolean;
            create_post_with_category: boolean;
            follow_user: boolean;
            request_connection: boolean;
            accept_connection: boolean;
            /** @description Every permission the user's roles grant, by name. */
            permissions: string[];
            roles: string[];
        };
        /** @description A user (`user_id`) or a service client (`client_id`); both null for the service itself. */
        AuditParty: {
            user_id: number | null;
            client_id: string | null;
        };
        /** @description What the action was done to: a user (`user_id`), a service client (`client_id`) or a webhook endpoint (`webhook_endpoint_id`, kept after the endpoint is deleted). */
        AuditSubject: {
            user_id: number | null;
            client_id: string | null;
            webhook_endpoint_id: number | null;
        };
        AuditEntry: {
            id: number;
            action: string;
            actor: components["schemas"]["AuditParty"];
            subject: components["schemas"]["AuditSubject"];
            /** Format: date-time */
            created_at: string;
        };
        AuditEntryPage: {
            /** @description How many results there are in all pages. */
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["AuditEntry"][];
        };
        /**
         * @description `string` any text; `integer` a JSON integer; `phone_number` E.164-like (`+` and 7–15
         *     digits); `enum` one of `type_options`; `url` an http(s) URL; `email` an email address.
         * @enum {string}
         */
        CustomFieldType: "string" | "integer" | "phone_number" | "enum" | "url" | "email";
        /** @description A text value, or a JSON integer for `integer` fields. */
        CustomFieldValue: string | number;
        CustomField: {
            id: number;
            name: string;
            label: string;
            type: components["schemas"]["CustomFieldType"];
            type_options: string[] | null;
            mandatory: boolean;
            min_length: number | null;
            max_length: number | null;
            default: components["schemas"]["CustomFieldValue"] | null;
            /** @description Whether the field is shown to every user by v1 `users.info`; other fields are shown only to callers with `view-full-other-user-info` and to the user themselves. */
            public: boolean;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        CustomFieldList: {
            count: number;
            results: components["schemas"]["CustomField"][];
        };
        CustomFieldCreateRequest: {
            /** @description The body key of the field; lower case letters, digits and `_`, starting with a letter. */
            name: string;
            label: string;
            type?: components["schemas"]["CustomFieldType"];
            type_options?: string[];
            mandatory?: boolean;
            min_length?: number;
            /** @description The longest value of a text field, in characters. Without it, a text value may hold up to 10000 characters. */
            max_length?: number;
            default?: components["schemas"]["CustomFieldValue"];
            /**
             * @description Whether the field is shown to every user by v1 `users.info`; other fields are shown only to callers with `view-full-other-user-info` and to the user themselves.
             * @default false
             */
            public: boolean;
        };
        CustomFieldUpdateRequest: {
            label?: string;
            type_options?: string[] | null;
            mandatory?: boolean;
            min_length?: number | null;
            max_length?: number | null;
            default?: components["schemas"]["CustomFieldValue"] | null;
            /** @description Whether the field is shown to every user by v1 `users.info`; other fields are shown only to callers with `view-full-other-user-info` and to the user themselves. */
            public?: boolean;
        };
        Health: {
            /** @enum {string} */
            status: "ok";
        };
        Readiness: {
            /** @enum {string} */
            status: "ok";
            /** @description How the background work keeps up; left out when it cannot be read. */
            details?: {
                /** @description How long the oldest event the webhook relays still have to deliver (not dispatched yet, or with a delivery pending to an active endpoint) has waited, in seconds; 0 when none waits. A failed delivery, or one to an endpoint that is off, is not counted: it waits for a resend or for the endpoint, not for the relays. */
                oldest_undelivered_event_seconds: number;
            };
        };
        /** @description The path and query of the next (or previous) page; null when there is none. */
        PageLink: string | null;
        UserPage: {
            /** @description How many results there are in all pages. */
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["User"][];
        };
        /**
         * @description The fields to change, and one top-level key for each custom field to change, validated
         *     as on account creation; `null` removes a custom field's value (unless the field is
         *     mandatory) and clears a profile field. Fields not given keep their values. No other
         *     field of an account can change here (`400 read_only_field`); any other key is refused
         *     (`400 unknown_field`).
         */
        UserUpdateRequest: {
            username?: components["schemas"]["Username"];
            real_name?: string;
            bio?: string | null;
            location?: string | null;
            /**
             * Format: date
             * @description YYYY-MM-DD, from 1900-01-01 to today.
             */
            date_of_birth?: string | null;
            description?: string | null;
            gender?: components["schemas"]["Gender"] | null;
            /** @description An http or https URL. */
            website?: string | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * @description The whole writable part of a user, as `UserUpdateRequest` describes each field: what is
         *     left out is cleared (`username` is kept), and custom fields are replaced as on account
         *     creation.
         */
        UserReplaceRequest: {
            username?: components["schemas"]["Username"];
            real_name?: string;
            bio?: string | null;
            location?: string | null;
            /**
             * Format: date
             * @description YYYY-MM-DD, from 1900-01-01 to today.
             */
            date_of_birth?: string | null;
            description?: string | null;
            gender?: components["schemas"]["Gender"] | null;
            /** @description An http or https URL. */
            website?: string | null;
        } & {
            [key: string]: unknown;
        };
        /**
         * @description SelfCommunity's genders; `Unspecified` when not given.
         * @enum {string}
         */
        Gender: "Male" | "Female" | "Unspecified";
        /** @description Letters, digits, `_` and `-`; unique regardless of case. */
        Username: string;
        /** @description A dynamic preference, as SelfCommunity's. */
        Preference: {
            id: number;
            section: string;
            name: string;
            /** @description A boolean for a `boolean` preference; JSON text for a `json` one. */
            value: boolean | string;
            /** @enum {string} */
            type: "boolean" | "json";
            help: string;
        };
        PreferencePage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["Preference"][];
        };
        PreferenceList: components["schemas"]["Preference"][];
        /** @description Preference keys (`section.name` or `name`) and their new values. */
        PreferenceUpdateRequest: {
            [key: string]: unknown;
        };
        /** @description A feature, as SelfCommunity's. */
        Feature: {
            id: number;
            name: string;
            enabled: boolean;
        };
        FeaturePage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["Feature"][];
        };
        FeatureUpdateRequest: {
            enabled: boolean;
        };
        /**
         * @description `valid`: can be used now; `used`, `expired`, `revoked`: cannot, and why.
         * @enum {string}
         */
        InviteStatus: "valid" | "used" | "expired" | "revoked";
        /** @description An invite code, as SelfCommunity's Invite, plus its expiry, revocation and status. */
        Invite: {
            id: number;
            /** @description Empty when not given. */
            name: string;
            /** @description The only username that can use the code. */
            forced_username: string | null;
            /** @description The only email that can use the code (regardless of case). */
            email: string | null;
            code: string;
            /** @description A role the account gets besides `user`. */
            role: string | null;
            /** Format: date-time */
            generated_at: string;
            /** Format: date-time */
            sent_at: string | null;
            /** Format: date-time */
            used_at: string | null;
            /** Format: date-time */
            expires_at: string | null;
            /** Format: date-time */
            revoked_at: string | null;
            status: components["schemas"]["InviteStatus"];
            /** @description The admin who issued the code (null once that account is gone). */
            invited_by: components["schemas"]["User"] | null;
            /** @description The account created with the code, once it is used. */
            user: components["schemas"]["User"] | null;
            /** @description Any JSON object given at issue, returned as given. */
            extra_data: {
                [key: string]: unknown;
            } | null;
        };
        InvitePage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["Invite"][];
        };
        InviteCreateRequest: {
            /** @description The code to issue; a random one when not given. */
            code?: string;
            name?: string;
            /** Format: email */
            email?: string;
            /** @description An existing role to grant, besides `user`. */
            role?: string;
            forced_username?: string;
            /**
             * Format: date-time
             * @description A time in the future.
             */
            expires_at?: string;
            /**
             * Format: date-time
             * @description When the code was sent to the person invited.
             */
            sent_at?: string;
            /** @description Any JSON object, nested at most 32 levels deep; returned as given. */
            extra_data?: {
                [key: string]: unknown;
            };
        };
        InviteCheck: {
            code: string;
            status: components["schemas"]["InviteStatus"];
            /** @description Whether the code can be used now. */
            valid: boolean;
            /** Format: date-time */
            expires_at: string | null;
            invite?: components["schemas"]["Invite"];
        };
        /** @description A promo code, as SelfCommunity's Promo, plus its use limit and uses. */
        Promo: {
            id: number;
            /** @description Empty when not given. */
            name: string;
            code: string;
            /** Format: date-time */
            valid_from: string;
            /**
             * Format: date-time
             * @description The end of validity; null for none.
             */
            valid_to: string | null;
            /** @description How many times the code can be redeemed; null for no limit. */
            max_uses: number | null;
            /** @description How many times it was redeemed. */
            uses: number;
            active: boolean;
            /** @description Whether it can be redeemed now (active, valid now, under its limit). */
            redeemable: boolean;
            /** Format: date-time */
            created_at: string;
        };
        PromoPage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["Promo"][];
        };
        /** @description An event type an endpoint subscribes to, and since when. */
        WebhookEventSubscription: {
            /**
             * @description One of `GET /api/v2/webhook/endpoint/event/`.
             * @example user.created
             */
            type: string;
            /** Format: date-time */
            added_at: string;
        };
        /** @description A webhook endpoint, as SelfCommunity's Endpoint (never with its secret). */
        WebhookEndpoint: {
            id: number;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /** @description Whether events are sent to it. */
            is_active: boolean;
            /** @description The URL events are posted to. */
            target: string;
            /** @description Empty when not given. */
            description: string;
            /** @description The event types it subscribes to, in the order of their names. */
            events: components["schemas"]["WebhookEventSubscription"][];
            /** @description Whether the target's TLS certificate is verified. */
            ssl_cert_verification: boolean;
        };
        WebhookEndpointPage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["WebhookEndpoint"][];
        };
        WebhookEventTypeRequest: {
            /** @description One of `GET /api/v2/webhook/endpoint/event/`. */
            type: string;
        };
        WebhookEndpointRequest: {
            /** @description An `http` or `https` URL without credentials, reaching a public address (see creation). */
            target: string;
            description?: string;
            /** @default true */
            is_active: boolean;
            /** @default true */
            ssl_cert_verification: boolean;
            events: components["schemas"]["WebhookEventTypeRequest"][];
        };
        WebhookEndpointPatchRequest: {
            /** @description An `http` or `https` URL without credentials, reaching a public address (see creation). */
            target?: string;
            description?: string;
            is_active?: boolean;
            ssl_cert_verification?: boolean;
            events?: components["schemas"]["WebhookEventTypeRequest"][];
        };
        /** @description The event an attempt carried. */
        WebhookAttemptEvent: {
            /** @description The event's id, which `POST .../event/resend/` takes (and the `webhook-id` header carries). */
            id: number;
            type: string;
            /**
             * Format: date-time
             * @description When the event happened.
             */
            added_at: string;
        };
        /** @description One request made to an endpoint, as SelfCommunity's Attempt. */
        WebhookAttempt: {
            id: number;
            /** Format: date-time */
            created_at: string;
            event: components["schemas"]["WebhookAttemptEvent"];
            /**
             * Format: date-time
             * @description When the request was sent; null when it could not be (a target not allowed, a refused connection).
             */
            sent_at: string | null;
            http_request_body: string;
            /** @description The `webhook-signature` header sent (signatures, never the secret). */
            http_request_signature_header: string;
            /** @description Null when no answer came. */
            http_response_code: number | null;
            /** @description The start of the answer's body, or what went wrong when no answer came. */
            http_response_body: string;
            /**
             * Format: date-time
             * @description When the delivery is tried again; null when it was delivered or given up.
             */
            next_retry: string | null;
        };
        WebhookAttemptPage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["WebhookAttempt"][];
        };
        WebhookSigningSecret: {
            /** @description `whsec_` and the base64 of 32 random bytes: the key of the Standard Webhooks signatures. */
            signing_secret: string;
        };
        WebhookPasswordRequest: {
            /** @description When given, it must be the caller's password. */
            password?: string;
        };
        WebhookResendRequest: {
            /** @description The event's id. */
            event: number;
            /** @description When given, it must be the caller's password. */
            password?: string;
        };
        WebhookBulkResendRequest: {
            /** @description The events' ids. */
            event: number[];
            /** @description When given, it must be the caller's password. */
            password?: string;
        };
        PromoCreateRequest: {
            /** @description The code; a random one when not given. */
            code?: string;
            name?: string;
            /**
             * Format: date-time
             * @description Now when not given.
             */
            valid_from?: string;
            /**
             * Format: date-time
             * @description After valid_from and in the future.
             */
            valid_to?: string;
            max_uses?: number;
            /** @default true */
            active: boolean;
        };
        PromoRedemption: {
            user: components["schemas"]["User"];
            /** Format: date-time */
            redeemed_at: string;
        };
        PromoRedemptionPage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["PromoRedemption"][];
        };
        Role: {
            name: string;
            description: string;
            /** @description The permissions the role grants, ordered by name. */
            permissions: string[];
            /** @description Whether the role's permissions are fixed (the `admin` role). */
            protected: boolean;
        };
        RolePage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["Role"][];
        };
        PermissionName: string;
        RoleCreateRequest: {
            /** @description Lower case letters, digits, `_` and `-`, starting with a letter. */
            name: string;
            description?: string;
            permissions?: components["schemas"]["PermissionName"][];
        };
        RoleUpdateRequest: {
            description?: string;
            permissions?: components["schemas"]["PermissionName"][];
        };
        Permission: {
            name: string;
            description: string;
        };
        PermissionPage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["Permission"][];
        };
        ModerateUserRequest: {
            /**
             * @description a (unblock), b (block), d (delete; hard with `hard`), u (delete hard).
             * @enum {string}
             */
            status: "a" | "b" | "d" | "u";
            /** @description Not supported (`400 unsupported_field`); a block lasts until an unblock. */
            days_blocked?: string;
            /** @description With `d`, 1 deletes hard. */
            hard?: number;
        };
        UserRolesRequest: {
            /** @description The names of the roles the user is to have, and no other. */
            roles: string[];
        };
        /** @description A service client, never with its secret. */
        OAuthClient: {
            /** @description Its id, as its tokens name it in `sub` and `client_id`. */
            client_id: string;
            name: string;
            roles: string[];
            /** @description What its roles grant, ordered by name. */
            permissions: string[];
            /** @description The scopes its tokens may have, space-separated. */
            scope: string;
            enabled: boolean;
            /** @description The user who created it; null when a client or the operator's CLI did. */
            created_by: number | null;
            /** @description The `client_id` of the client that created it, if one did. */
            created_by_client: string | null;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /** Format: date-time */
            secret_rotated_at: string;
            /**
             * Format: date-time
             * @description When it last authenticated (for a token, a revocation or an introspection), to the minute; null if never.
             */
            last_used_at: string | null;
        };
        /** @description A service client with its secret, which exists only in this answer. */
        OAuthClientWithSecret: {
            client_id: string;
            /** @description Store it as a secret now; it is kept only as a hash. */
            client_secret: string;
            name: string;
            roles: string[];
            permissions: string[];
            scope: string;
            enabled: boolean;
            created_by: number | null;
            created_by_client: string | null;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
            /** Format: date-time */
            secret_rotated_at: string;
            /** Format: date-time */
            last_used_at: string | null;
        };
        OAuthClientPage: {
            count: number;
            next: components["schemas"]["PageLink"];
            previous: components["schemas"]["PageLink"];
            results: components["schemas"]["OAuthClient"][];
        };
        OAuthClientCreateRequest: {
            /** @description What the client is, for people (not unique). */
            name: string;
            /** @description Its roles (none by default); each must exist, and the caller must hold everything it grants. */
            roles?: string[];
            /** @description The scopes its tokens may have, space-separated (`read write` by default). */
            scope?: string;
            /** @default true */
            enabled: boolean;
        };
        OAuthClientUpdateRequest: {
            name?: string;
            /** @description Replaces its roles. */
            roles?: string[];
            scope?: string;
            enabled?: boolean;
        };
        /** @description Rocket.Chat's error body, on every `/api/v1/` endpoint but for authentication failures. */
        RocketChatError: {
            /** @description Always false. */
            success: boolean;
            /** @description The reason, then the errorType in brackets. */
            error: string;
            /** @description Machine-readable reason (see the 400 response of each operation). */
            errorType: string;
            requestId: components["schemas"]["RequestId"];
            details?: {
                /** @description The request field at fault. */
                field?: string;
            };
        };
        RocketChatUnauthorizedError: {
            /** @description Always false. */
            success: boolean;
            /** @enum {string} */
            status: "error";
            error: string;
            message: string;
            requestId: components["schemas"]["RequestId"];
        };
        RocketChatLoginFailure: {
            /** @enum {string} */
            status: "error";
            /** @enum {string} */
            error: "Unauthorized" | "error-user-is-not-activated";
            message: string;
            requestId: components["schemas"]["RequestId"];
        };
        RocketChatSuccess: {
            /** @description Always true. */
            success: boolean;
        };
        /** @description The password, and exactly one of `user`, `username` and `email`. */
        RocketChatLoginRequest: {
            user?: string | {
                username?: string;
                email?: string;
            };
            username?: string;
            email?: string;
            password: string;
        };
        RocketChatLoginResponse: {
            /** @enum {string} */
            status: "success";
            data: {
                /** @description Send it as `X-User-Id`. */
                userId: string;
                /** @description An access token (JWT): send it as `X-Auth-Token`, or as a bearer token. */
                authToken: string;
                me: components["schemas"]["RocketChatUser"];
            };
        };
        RocketChatSetActiveStatusRequest: {
            userId: string;
            activeStatus: boolean;
            /** @description Accepted and not used. */
            confirmRelinquish?: boolean | null;
        };
        RocketChatGeneratePersonalAccessTokenRequest: {
            tokenName: string;
            /** @default false */
            bypassTwoFactor: boolean;
        };
        RocketChatPersonalAccessTokenNameRequest: {
            tokenName: string;
        };
        RocketChatPersonalAccessTokenResponse: {
            /** @description `pat_` and 43 characters: the secret, shown only here. */
            token: string;
            /** @description Always true. */
            success: boolean;
        };
        RocketChatPersonalAccessTokens: {
            tokens: {
                name: string;
                lastTokenPart: string;
                bypassTwoFactor: boolean;
                /** Format: date-time */
                createdAt: string;
            }[];
            /** @description Always true. */
            success: boolean;
        };
        RocketChatSetActiveStatusResponse: {
            user: {
                _id: string;
                active: boolean;
            };
            success: boolean;
        };
        /** @description Exactly one of `userId` and `username`. */
        RocketChatDeleteUserRequest: {
            userId?: string;
            username?: string;
            /** @description Accepted and not used. */
            confirmRelinquish?: boolean | null;
        };
        RocketChatDeleteOwnAccountRequest: {
            /** @description The password's SHA-256 in hex, as Rocket.Chat's clients send it, or the password itself. */
            password: string;
            /** @description Accepted and not used. */
            confirmRelinquish?: boolean | null;
        };
        RocketChatEmail: {
            address: string;
            verified: boolean;
        };
        /** @description A user in Rocket.Chat's shape, full view. Never carries `services` or a password hash. */
        RocketChatUser: {
            /** @description The user's id (v2's numeric id, as text). */
            _id: string;
            /** Format: date-time */
            createdAt: string;
            username: string;
            emails: components["schemas"]["RocketChatEmail"][];
            /**
             * @description `bot` for a user with the `bot` role.
             * @enum {string}
             */
            type: "user" | "bot";
            /**
             * @description Presence is not tracked here.
             * @enum {string}
             */
            status: "offline";
            /** @description Whether the user can log in (v2 status `a`). */
            active: boolean;
            roles: string[];
            /** Format: date-time */
            _updatedAt: string;
            name: string;
            /** @description Always empty. */
            settings: Record<string, never>;
            requirePasswordChange: boolean;
            bio?: string;
            nickname?: string;
            statusText?: string;
            /** @description The user's custom-field values; absent when there are none. */
            customFields?: {
                [key: string]: unknown;
            };
        };
        /** @description A user as other users without `view-full-other-user-info` see them. */
        RocketChatPublicUser: {
            _id: string;
            /** Format: date-time */
            createdAt: string;
            username: string;
            /** @enum {string} */
            type: "user" | "bot";
            /** @enum {string} */
            status: "offline";
            active: boolean;
            name: string;
            bio?: string;
            nickname?: string;
            statusText?: string;
            /** @description Only the values of public custom fields; absent when there are none. */
            customFields?: {
                [key: string]: unknown;
            };
        };
        RocketChatUserResponse: {
            user: components["schemas"]["RocketChatUser"];
            success: boolean;
        };
        RocketChatUserInfoResponse: {
            user: components["schemas"]["RocketChatUser"] | components["schemas"]["RocketChatPublicUser"];
            success: boolean;
        };
        RocketChatEmailRequest: {
            /** @description The email of the account. */
            email: string;
        };
        /** @description Every parameter of Rocket.Chat's `UserCreateParamsPOST`, with its types; `null` means not given. */
        RocketChatUserCreateRequest: {
            email: string;
            name: string;
            password: string;
            username: string;
            active?: boolean | null;
            bio?: string | null;
            nickname?: string | null;
            statusText?: string | null;
            roles?: string[];
            joinDefaultChannels?: boolean | null;
            requirePasswordChange?: boolean | null;
            setRandomPassword?: boolean | null;
            sendWelcomeEmail?: boolean | null;
            verified?: boolean | null;
            customFields?: {
                [key: string]: unknown;
            };
            /** @description Accepted for compatibility; the whole user is always returned. */
            fields?: string | null;
            /** @description Accepted for compatibility; not stored. */
            freeSwitchExtension?: string | null;
        };
        /** @description Every parameter of Rocket.Chat's `UsersUpdateParamsPOST`, with its types; `null` means not given. */
        RocketChatUserUpdateRequest: {
            userId: string;
            /** @description Accepted for compatibility; not used. */
            confirmRelinquish?: boolean;
            data: {
                email?: string | null;
                name?: string | null;
                password?: string | null;
                username?: string | null;
                bio?: string | null;
                nickname?: string | null;
                statusText?: string | null;
                active?: boolean | null;
                roles?: string[] | null;
                requirePasswordChange?: boolean | null;
                setRandomPassword?: boolean | null;
                sendWelcomeEmail?: boolean | null;
                verified?: boolean | null;
                customFields?: {
                    [key: string]: unknown;
                } | null;
                /** @description Accepted for compatibility; presence is not tracked here. */
                status?: string | null;
                /** @description Accepted for compatibility; not stored. */
                freeSwitchExtension?: string | null;
            };
        };
        /** @description Every parameter of Rocket.Chat's `UsersUpdateOwnBasicInfoParamsPOST`, with its types; `null` means not given. */
        RocketChatUpdateOwnBasicInfoRequest: {
            data: {
                email?: string | null;
                name?: string | null;
                username?: string | null;
                nickname?: string | null;
                bio?: string | null;
                /** @description Accepted for compatibility; presence is not tracked here. */
                statusType?: string | null;
                statusText?: string | null;
                currentPassword?: string | null;
                newPassword?: string | null;
            };
            customFields?: {
                [key: string]: unknown;
            } | null;
        };
        RocketChatCustomFieldsSetting: {
            /** @enum {string} */
            _id: "Accounts_CustomFields";
            /** @description The fields, as JSON text in Rocket.Chat's format. */
            value: string;
            success: boolean;
        };
        RocketChatSettingUpdateRequest: {
            /** @description The fields, as JSON text or as the object itself. */
            value: string | {
                [key: string]: unknown;
            };
        };
        RocketChatUserList: {
            users: (components["schemas"]["RocketChatUser"] | components["schemas"]["RocketChatPublicUser"])[];
            /** @description How many users are on this page. */
            count: number;
            offset: number;
            /** @description How many users there are in all pages. */
            total: number;
            success: boolean;
        };
        RocketChatBooleanResult: {
            result: boolean;
            success: boolean;
        };
        RocketChatStringResult: {
            result: string;
            success: boolean;
        };
    };
    responses: {
        /**
         * @description The request is invalid. `code` says why (`missing_field`, `invalid_field`,
         *     `unknown_field`, `invalid_body`, `malformed_json`, or a rule's own code such as
         *     `password_too_weak`, `password_contains_username`, `password_too_common`,
         *     `invite_code_*` and `promo_code_*` (see account creation), `unknown_role`,
         *     `read_only_field`, `duplicate_field`, `reserved_name`, `username_reserved`; `bad_request`
         *     for any other malformed request) and `field` names the field when one is at fault.
         */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 400,
                 *       "code": "invalid_field",
                 *       "message": "username must match pattern \"^[A-Za-z0-9_-]+$\"",
                 *       "field": "username",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /**
         * @description No token, or a token that is invalid, expired, revoked, or whose user or service client
         *     can no longer act (RFC 6750).
         */
        Unauthorized: {
            headers: {
                /** @description `Bearer realm="account-service"`, with `error="invalid_token"` and its `error_description` when a token was presented. */
                "WWW-Authenticate": string;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 401,
                 *       "code": "unauthorized",
                 *       "message": "A valid bearer token is required",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /**
         * @description The token is valid, but its user or client may not do this: it lacks the permission
         *     (`forbidden`), or the token was not granted the operation's scope (`insufficient_scope`,
         *     with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`).
         */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 403,
                 *       "code": "forbidden",
                 *       "message": "This operation requires the create-user permission",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /**
         * @description The Idempotency-Key is another request's: still being answered
         *     (`idempotency_key_in_progress`, with `Retry-After`), or one that made its change and whose
         *     answer was lost with its instance (`idempotency_key_answer_lost`: read the result instead).
         */
        IdempotencyConflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 409,
                 *       "code": "idempotency_key_in_progress",
                 *       "message": "A request with this Idempotency-Key is still being answered; repeat it in a moment",
                 *       "field": "Idempotency-Key",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description The Idempotency-Key was used with another request (another body or path). */
        IdempotencyKeyReused: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 422,
                 *       "code": "idempotency_key_reused",
                 *       "message": "This Idempotency-Key was used with another request (another body or path); use a new key for a new request",
                 *       "field": "Idempotency-Key",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description No such resource. */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 404,
                 *       "code": "not_found",
                 *       "message": "User 42 not found",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description The body is larger than the service accepts. */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 413,
                 *       "code": "payload_too_large",
                 *       "message": "The request body is too large",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description The request is not valid HTTP (`bad_request`), answered by the HTTP layer, before any route. */
        HttpBadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description The request headers are larger than the HTTP layer accepts (`headers_too_large`). */
        HeadersTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 431,
                 *       "code": "headers_too_large",
                 *       "message": "The request headers are too large",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description The body's content type is not one this operation accepts. */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 415,
                 *       "code": "unsupported_media_type",
                 *       "message": "This operation does not accept a text/plain body",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description Too many requests from this address in this operation's bucket (see Rate limits). */
        TooManyRequests: {
            headers: {
                /** @description Seconds to wait before retrying. */
                "Retry-After": number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 429,
                 *       "code": "too_many_requests",
                 *       "message": "Too many requests: you must wait 60 seconds before trying this endpoint again",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description The account is blocked (or not yet approved); nothing was changed. */
        AccountNotActive: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 401,
                 *       "code": "account_not_active",
                 *       "message": "User is not activated",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /**
         * @description `mail_not_configured`: this instance sends no mail (production without `SMTP_URL`), which
         *     the operation needs; nothing was changed, and retrying will not help until mail is
         *     configured (no `Retry-After`). Or any answer of `ServiceUnavailable`, with its
         *     `Retry-After`.
         */
        MailUnavailable: {
            headers: {
                /** @description Seconds to wait before retrying; absent for `mail_not_configured`. */
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 503,
                 *       "code": "mail_not_configured",
                 *       "message": "This service is not configured to send mail, which this operation needs",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description Another account has the new email (regardless of case); nothing was changed. */
        NewEmailTaken: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 409,
                 *       "code": "email_taken",
                 *       "message": "new_email is already the email of another account",
                 *       "field": "new_email",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /**
         * @description `database_unavailable`: the database does not answer; nothing was changed (but for a
         *     single write whose acknowledgement was lost: a revocation, say, which is safe to repeat).
         *     Retry after the `Retry-After` seconds. `overloaded`: the service is over its load limits and took on
         *     nothing; retry after the `Retry-After` seconds. `outcome_unknown`: the connection was lost while the change was
         *     being committed, so it may or may not have been made; look before retrying (a create
         *     retried blindly may meet its own account as a `409`). `shutting_down`: the instance is
         *     closing and took on nothing (the answer carries `Connection: close`); retry after the
         *     `Retry-After` seconds, on a new connection.
         */
        ServiceUnavailable: {
            headers: {
                /** @description Seconds to wait before retrying. */
                "Retry-After": number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 503,
                 *       "code": "database_unavailable",
                 *       "message": "The database does not answer; retry shortly",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description An unexpected failure; nothing was changed. The body never carries internals, and the failure is logged. */
        InternalError: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "statusCode": 500,
                 *       "code": "internal_error",
                 *       "message": "Internal server error",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["ApiError"];
            };
        };
        /** @description The Idempotency-Key was used with another request, in Rocket.Chat's error body (`idempotency-key-reused`). A repeat while the first is answered is `400` with `idempotency-key-in-progress`, as Rocket.Chat answers conflicts. */
        RocketChatIdempotencyKeyReused: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /**
         * @description The request is invalid, in Rocket.Chat's error body: `error` is `<reason> [<errorType>]`
         *     and `details.field` names the field at fault when there is one. The errorTypes:
         *     `invalid-params` (the body or query does not match the schema: a missing or unknown
         *     key, a wrong type; malformed JSON; or a value breaks its field's rule, as a custom
         *     field's setting in `Accounts_CustomFields`), `error-the-field-is-required` (an empty
         *     or blank required field), `error-input-is-not-a-valid-field` (a username that is not valid),
         *     `error-blocked-username` (a reserved username), `error-field-unavailable` (the username
         *     or email is taken, regardless of case), `error-invalid-email`,
         *     `error-password-policy-not-met` (the password policy of v2),
         *     `error-user-registration-custom-field` (a custom field missing, unknown or invalid),
         *     `error-action-not-allowed` (the caller lacks the permission, a role is unknown, or a
         *     role grants what the caller may not hand out: Rocket.Chat answers these with 400, and
         *     so does v1), `error-password-change-required` (the caller must change their password
         *     first), `error-invalid-user` (`users.info` found no such user). Any other rule's
         *     code of v2 appears with `-` for `_` (`invite-code-required`, `custom-field-exists`).
         */
        RocketChatBadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /** @description No valid `X-Auth-Token` + `X-User-Id` (or bearer token), an `X-User-Id` that is not the token's user, or a user who is no longer active. */
        RocketChatUnauthorized: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "success": false,
                 *       "status": "error",
                 *       "error": "You must be logged in to do this.",
                 *       "message": "You must be logged in to do this.",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["RocketChatUnauthorizedError"];
            };
        };
        /** @description The body is larger than the service accepts (`payload-too-large`). */
        RocketChatPayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /** @description The request headers are larger than the HTTP layer accepts (`headers-too-large`). */
        RocketChatHeadersTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /** @description The body is not JSON (`unsupported-media-type`). */
        RocketChatUnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /** @description Too many requests from this address in the operation's rate-limit bucket (`x-rate-limited`; `RATE_LIMIT_MAX` per `RATE_LIMIT_WINDOW_SECONDS`); retry after `Retry-After` seconds (`error-too-many-requests`). */
        RocketChatTooManyRequests: {
            headers: {
                /** @description Seconds to wait before retrying. */
                "Retry-After": number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "success": false,
                 *       "error": "Too many requests: you must wait 60 seconds before trying this endpoint again [error-too-many-requests]",
                 *       "errorType": "error-too-many-requests",
                 *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /**
         * @description The database does not answer (`database-unavailable`), the service is overloaded (`overloaded`), the connection
         *     was lost while the change was committed (`outcome-unknown`: it may or may not have been made), or the
         *     instance is shutting down (`shutting-down`, with `Connection: close`). Nothing was changed but for
         *     `outcome-unknown`. Retry after the `Retry-After` seconds.
         */
        RocketChatServiceUnavailable: {
            headers: {
                /** @description Seconds to wait before retrying. */
                "Retry-After": number;
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /**
         * @description `mail-not-configured`: this instance sends no mail (production without `SMTP_URL`), which
         *     the operation needs; nothing was changed, and retrying will not help until mail is
         *     configured (no `Retry-After`). Or any answer of `RocketChatServiceUnavailable`, with its
         *     `Retry-After`.
         */
        RocketChatMailUnavailable: {
            headers: {
                /** @description Seconds to wait before retrying; absent for `mail-not-configured`. */
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /** @description An unexpected failure; nothing was changed (`internal-error`). The body never carries internals. */
        RocketChatInternalError: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RocketChatError"];
            };
        };
        /**
         * @description RFC 6749 §5.2: `invalid_request` (a parameter missing, repeated or malformed, the
         *     client authenticated twice; `error_description` says which), `invalid_grant` (wrong
         *     credentials, a user who is not active, a refresh token that is invalid, expired,
         *     revoked, spent, or issued to another client), `unsupported_grant_type`,
         *     `invalid_scope` (an unknown scope, or more than is allowed), `unauthorized_client`
         *     (revoking a token issued to another client).
         */
        OAuthBadRequest: {
            headers: {
                /** @description Always `no-store`. */
                "Cache-Control": "no-store";
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["OAuthError"];
            };
        };
        /** @description Client authentication failed (an unknown client, a wrong secret, a disabled or deleted client), or a client must authenticate and did not. */
        OAuthInvalidClient: {
            headers: {
                /** @description `Basic realm="account-service"`. */
                "WWW-Authenticate": string;
                /** @description Always `no-store`. */
                "Cache-Control": "no-store";
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "invalid_client",
                 *       "error_description": "Client authentication failed",
                 *       "request_id": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["OAuthError"];
            };
        };
        /** @description The body is larger than the service accepts (`invalid_request`). */
        OAuthPayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "invalid_request",
                 *       "error_description": "The request body is too large",
                 *       "request_id": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["OAuthError"];
            };
        };
        /** @description The request headers are larger than the HTTP layer accepts (`invalid_request`). */
        OAuthHeadersTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["OAuthError"];
            };
        };
        /** @description The body is neither form-encoded nor JSON (`invalid_request`). */
        OAuthUnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "invalid_request",
                 *       "error_description": "This operation does not accept a text/plain body",
                 *       "request_id": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["OAuthError"];
            };
        };
        /** @description Too many requests from this address in the `login` bucket (see Rate limits); `temporarily_unavailable`. */
        OAuthTooManyRequests: {
            headers: {
                /** @description Seconds to wait before retrying. */
                "Retry-After": number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "temporarily_unavailable",
                 *       "error_description": "Too many requests: you must wait 60 seconds before trying this endpoint again",
                 *       "request_id": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["OAuthError"];
            };
        };
        /** @description The database does not answer, the service is overloaded, or it is shutting down; nothing was changed (`temporarily_unavailable`). */
        OAuthServiceUnavailable: {
            headers: {
                /** @description Seconds to wait before retrying. */
                "Retry-After": number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "temporarily_unavailable",
                 *       "error_description": "The database does not answer; retry shortly",
                 *       "request_id": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["OAuthError"];
            };
        };
        /** @description An unexpected failure (`server_error`); nothing was changed, and the failure is logged. */
        OAuthInternalError: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "server_error",
                 *       "error_description": "Internal server error",
                 *       "request_id": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                 *     }
                 */
                "application/json": components["schemas"]["OAuthError"];
            };
        };
    };
    parameters: {
        /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
        WebhookId: string;
        /** @description When this attempt was made, in Unix seconds. */
        WebhookTimestamp: string;
        /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
        WebhookSignature: string;
        /** @description The client's `client_id`. */
        ClientId: string;
        /**
         * @description Makes a repeat of this request safe (draft-ietf-httpapi-idempotency-key-header): one value
         *     of 1 to 255 printable ASCII characters, such as a UUID, bare or as `"..."`. The first
         *     `2xx` answer is kept per caller and key for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 hours) and
         *     given again to a repeat with the same key, caller, path and body, from any instance, with
         *     `Idempotent-Replayed: true`; the change is made once. Another answer is not kept: a
         *     repeat is answered anew, unless the change was committed all the same (a `503
         *     outcome_unknown` that went through), when the repeat is `409 idempotency_key_answer_lost`.
         *     The same key with another body is `422 idempotency_key_reused`; a repeat while the first
         *     is still answered is `409 idempotency_key_in_progress` with `Retry-After`. Keys are per
         *     caller. Answers are kept encrypted (a service client's holds its secret).
         */
        IdempotencyKey: string;
        /** @description The numeric id. */
        Id: number;
        /** @description The code, in any case. */
        Code: string;
        /** @description The most results on one page. */
        Limit: number;
        /** @description How many results to skip. */
        Offset: number;
        /** @description The start of the username or of the email, regardless of case. */
        UserSearchText: string;
        /** @description The start of the username, regardless of case. */
        UsernamePrefix: string;
        /** @description The start of the email, regardless of case. */
        EmailPrefix: string;
        /** @description Only users with this status. */
        UserStatus: "a" | "b" | "u";
        /** @description Not supported (`400 unsupported_field`); a block lasts until an unblock. */
        DaysBlocked: string;
        /** @description 1 removes the user's row (a hard deletion); 0, or none, deletes softly. */
        Hard: number;
    };
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    createAccount: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Makes a repeat of this request safe (draft-ietf-httpapi-idempotency-key-header): one value
                 *     of 1 to 255 printable ASCII characters, such as a UUID, bare or as `"..."`. The first
                 *     `2xx` answer is kept per caller and key for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 hours) and
                 *     given again to a repeat with the same key, caller, path and body, from any instance, with
                 *     `Idempotent-Replayed: true`; the change is made once. Another answer is not kept: a
                 *     repeat is answered anew, unless the change was committed all the same (a `503
                 *     outcome_unknown` that went through), when the repeat is `409 idempotency_key_answer_lost`.
                 *     The same key with another body is `422 idempotency_key_reused`; a repeat while the first
                 *     is still answered is `409 idempotency_key_in_progress` with `Retry-After`. Keys are per
                 *     caller. Answers are kept encrypted (a service client's holds its secret).
                 */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AccountCreateRequest"];
            };
        };
        responses: {
            /** @description The account was created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": 42,
                     *       "username": "jane_doe",
                     *       "real_name": "Jane Doe",
                     *       "email": "jane@example.com",
                     *       "email_isvalid": false,
                     *       "date_joined": "2026-11-25T10:00:00.000Z",
                     *       "status": "a",
                     *       "roles": [
                     *         "user"
                     *       ],
                     *       "bio": "",
                     *       "location": "",
                     *       "date_of_birth": null,
                     *       "description": "",
                     *       "gender": "Unspecified",
                     *       "website": "",
                     *       "company": "ACME"
                     *     }
                     */
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description The username or the email is already taken (regardless of case); or the Idempotency-Key is another request's, still being answered (`idempotency_key_in_progress`, with `Retry-After`) or whose answer was lost (`idempotency_key_answer_lost`). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["IdempotencyKeyReused"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    verifyAccount: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ValidationCodeRequest"];
            };
        };
        responses: {
            /** @description The email is verified; the user's tokens. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccountTokenResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["AccountNotActive"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    checkValidationCode: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ValidationCodeRequest"];
            };
        };
        responses: {
            /** @description The account the code belongs to. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["AccountNotActive"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    recoverAccount: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RecoverRequest"];
            };
        };
        responses: {
            /** @description If an active account has this email, a recovery code is on its way to it. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["MailUnavailable"];
        };
    };
    resetPassword: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ResetRequest"];
            };
        };
        responses: {
            /** @description The new password is set; the user's tokens. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccountTokenResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["AccountNotActive"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getCurrentUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The current user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    replaceUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "username": "jane_roe",
                 *       "real_name": "Jane Roe",
                 *       "bio": "Climbs things.",
                 *       "location": "Trieste",
                 *       "gender": "Female",
                 *       "website": "https://jane.example.com",
                 *       "company": "ACME"
                 *     }
                 */
                "application/json": components["schemas"]["UserReplaceRequest"];
            };
        };
        responses: {
            /** @description The changed user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description The username is already taken (regardless of case). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "statusCode": 409,
                     *       "code": "username_taken",
                     *       "message": "username is already taken",
                     *       "field": "username",
                     *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteUser: {
        parameters: {
            query?: {
                /** @description 1 removes the user's row (a hard deletion); 0, or none, deletes softly. */
                hard?: components["parameters"]["Hard"];
            };
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user is deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "real_name": "Jane Roe",
                 *       "company": "ACME"
                 *     }
                 */
                "application/json": components["schemas"]["UserUpdateRequest"];
            };
        };
        responses: {
            /** @description The changed user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description The username is already taken (regardless of case). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "statusCode": 409,
                     *       "code": "username_taken",
                     *       "message": "username is already taken",
                     *       "field": "username",
                     *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    changePassword: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PasswordChangeRequest"];
            };
        };
        responses: {
            /** @description The password is changed. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    changeEmail: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EmailChangeRequest"];
            };
        };
        responses: {
            /** @description The code is on its way to the new address (or, for an admin's direct change, the email is changed). */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["NewEmailTaken"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["MailUnavailable"];
        };
    };
    confirmEmail: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EmailConfirmRequest"];
            };
        };
        responses: {
            /** @description The email is changed and verified. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["AccountNotActive"];
            409: components["responses"]["NewEmailTaken"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    issueToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["TokenRequest"];
                "application/json": components["schemas"]["TokenRequest"];
            };
        };
        responses: {
            /** @description The tokens. */
            200: {
                headers: {
                    /** @description Always `no-store`. */
                    "Cache-Control": "no-store";
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjNxNm5fc2cifQ.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl",
                     *       "token_type": "Bearer",
                     *       "expires_in": 3600,
                     *       "scope": "read write",
                     *       "refresh_token": "rt_2YqJ3wVtq0sT7c1mXo5nPZb3Hk9dRf6LuGv8aEi4Wj0"
                     *     }
                     */
                    "application/json": components["schemas"]["TokenResponse"];
                };
            };
            400: components["responses"]["OAuthBadRequest"];
            401: components["responses"]["OAuthInvalidClient"];
            413: components["responses"]["OAuthPayloadTooLarge"];
            415: components["responses"]["OAuthUnsupportedMediaType"];
            429: components["responses"]["OAuthTooManyRequests"];
            431: components["responses"]["OAuthHeadersTooLarge"];
            500: components["responses"]["OAuthInternalError"];
            503: components["responses"]["OAuthServiceUnavailable"];
        };
    };
    revokeToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "token": "rt_2YqJ3wVtq0sT7c1mXo5nPZb3Hk9dRf6LuGv8aEi4Wj0",
                 *       "token_type_hint": "refresh_token"
                 *     }
                 */
                "application/x-www-form-urlencoded": components["schemas"]["RevocationRequest"];
                "application/json": components["schemas"]["RevocationRequest"];
            };
        };
        responses: {
            /** @description Revoked, or nothing to revoke. No body. */
            200: {
                headers: {
                    /** @description Always `no-store`. */
                    "Cache-Control": "no-store";
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["OAuthBadRequest"];
            401: components["responses"]["OAuthInvalidClient"];
            413: components["responses"]["OAuthPayloadTooLarge"];
            415: components["responses"]["OAuthUnsupportedMediaType"];
            431: components["responses"]["OAuthHeadersTooLarge"];
            500: components["responses"]["OAuthInternalError"];
            503: components["responses"]["OAuthServiceUnavailable"];
        };
    };
    introspectToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjNxNm5fc2cifQ.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"
                 *     }
                 */
                "application/x-www-form-urlencoded": components["schemas"]["IntrospectionRequest"];
                "application/json": components["schemas"]["IntrospectionRequest"];
            };
        };
        responses: {
            /** @description What the token says, if it is active. */
            200: {
                headers: {
                    /** @description Always `no-store`. */
                    "Cache-Control": "no-store";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IntrospectionResponse"];
                };
            };
            400: components["responses"]["OAuthBadRequest"];
            401: components["responses"]["OAuthInvalidClient"];
            413: components["responses"]["OAuthPayloadTooLarge"];
            415: components["responses"]["OAuthUnsupportedMediaType"];
            431: components["responses"]["OAuthHeadersTooLarge"];
            500: components["responses"]["OAuthInternalError"];
            503: components["responses"]["OAuthServiceUnavailable"];
        };
    };
    getJwks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key set (RFC 7517). */
            200: {
                headers: {
                    /** @description `public, max-age=300`: a verifier fetches again at an unknown `kid`. */
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "keys": [
                     *         {
                     *           "kty": "EC",
                     *           "crv": "P-256",
                     *           "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                     *           "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                     *           "kid": "3q6n_sgXvD1Dz0yUj4Hc0nCqkQ6e1YxJ7hZ2cRr9m0E",
                     *           "alg": "ES256",
                     *           "use": "sig"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["JsonWebKeySet"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            431: components["responses"]["HeadersTooLarge"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getAuthorizationServerMetadata: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The metadata. */
            200: {
                headers: {
                    /** @description `public, max-age=300`. */
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "issuer": "https://accounts.example.com",
                     *       "token_endpoint": "https://accounts.example.com/oauth/token/",
                     *       "jwks_uri": "https://accounts.example.com/.well-known/jwks.json",
                     *       "revocation_endpoint": "https://accounts.example.com/oauth/revoke/",
                     *       "introspection_endpoint": "https://accounts.example.com/oauth/introspect/",
                     *       "grant_types_supported": [
                     *         "password",
                     *         "refresh_token",
                     *         "client_credentials"
                     *       ],
                     *       "response_types_supported": [],
                     *       "scopes_supported": [
                     *         "read",
                     *         "write"
                     *       ],
                     *       "token_endpoint_auth_methods_supported": [
                     *         "client_secret_basic",
                     *         "client_secret_post"
                     *       ],
                     *       "revocation_endpoint_auth_methods_supported": [
                     *         "none",
                     *         "client_secret_basic",
                     *         "client_secret_post"
                     *       ],
                     *       "introspection_endpoint_auth_methods_supported": [
                     *         "client_secret_basic",
                     *         "client_secret_post"
                     *       ],
                     *       "service_documentation": "https://accounts.example.com/docs"
                     *     }
                     */
                    "application/json": components["schemas"]["AuthorizationServerMetadata"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            431: components["responses"]["HeadersTooLarge"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listCustomFields: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description All definitions, ordered by id. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CustomFieldList"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createCustomField: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "company",
                 *       "label": "Company",
                 *       "type": "string",
                 *       "mandatory": false,
                 *       "max_length": 100
                 *     }
                 */
                "application/json": components["schemas"]["CustomFieldCreateRequest"];
            };
        };
        responses: {
            /** @description The definition was created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CustomField"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description A field with this name is already defined (`custom_field_exists`). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getCustomField: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The definition. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CustomField"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteCustomField: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The definition and its values are gone. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateCustomField: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CustomFieldUpdateRequest"];
            };
        };
        responses: {
            /** @description The changed definition. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CustomField"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    checkLiveness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "ok"
                     *     }
                     */
                    "application/json": components["schemas"]["Health"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            431: components["responses"]["HeadersTooLarge"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    checkReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "ok",
                     *       "details": {
                     *         "oldest_undelivered_event_seconds": 0.8
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            /** @description The database does not answer; retry after the `Retry-After` seconds. */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying. */
                    "Retry-After": number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "statusCode": 503,
                     *       "code": "database_unavailable",
                     *       "message": "The database does not answer",
                     *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiError"];
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The metrics. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example # HELP http_requests_total Requests answered, by route template, method and status.
                     *     # TYPE http_requests_total counter
                     *     http_requests_total{method="GET",route="/health/ready",status_code="200"} 42
                     */
                    "text/plain": string;
                };
            };
            400: components["responses"]["HttpBadRequest"];
            /** @description No `Authorization: Bearer` header, or not the metrics token (RFC 6750). */
            401: {
                headers: {
                    /** @description `Bearer realm="account-service"`, with `error="invalid_token"` when a bearer token was presented. */
                    "WWW-Authenticate": string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "statusCode": 401,
                     *       "code": "unauthorized",
                     *       "message": "The metrics token is required",
                     *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            /** @description `METRICS_TOKEN` is not configured: the metrics are not served. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "statusCode": 404,
                     *       "code": "not_found",
                     *       "message": "No route for GET /metrics",
                     *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    findAccount: {
        parameters: {
            query?: {
                username?: string;
                email?: string;
                /** @description With `provider`. */
                ext_id?: string;
                /** @description With `ext_id`. */
                provider?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The account. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listUserProviders: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user's associations. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserProviderAssociation"][];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createUserProvider: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "user_id": 42,
                 *       "provider": "external",
                 *       "ext_id": "4711"
                 *     }
                 */
                "application/json": components["schemas"]["UserProviderAssociationRequest"];
            };
        };
        responses: {
            /** @description The association made. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserProviderAssociation"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description The pair links another account already (`ext_id_taken`), or the user has an id of this provider already (`provider_already_linked`). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "statusCode": 409,
                     *       "code": "ext_id_taken",
                     *       "message": "Another account has ext_id 4711 of external",
                     *       "field": "ext_id",
                     *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteUserProvider: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserProviderAssociationKey"];
            };
        };
        responses: {
            /** @description Unlinked. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    ssoSignUp: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Makes a repeat of this request safe (draft-ietf-httpapi-idempotency-key-header): one value
                 *     of 1 to 255 printable ASCII characters, such as a UUID, bare or as `"..."`. The first
                 *     `2xx` answer is kept per caller and key for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 hours) and
                 *     given again to a repeat with the same key, caller, path and body, from any instance, with
                 *     `Idempotent-Replayed: true`; the change is made once. Another answer is not kept: a
                 *     repeat is answered anew, unless the change was committed all the same (a `503
                 *     outcome_unknown` that went through), when the repeat is `409 idempotency_key_answer_lost`.
                 *     The same key with another body is `422 idempotency_key_reused`; a repeat while the first
                 *     is still answered is `409 idempotency_key_in_progress` with `Retry-After`. Keys are per
                 *     caller. Answers are kept encrypted (a service client's holds its secret).
                 */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "ext_id": 4711,
                 *       "username": "jane_doe",
                 *       "email": "jane@example.com"
                 *     }
                 */
                "application/json": components["schemas"]["SsoSignUpRequest"];
            };
        };
        responses: {
            /** @description The account was created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SsoSignUp"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description The username or the email is taken (regardless of case), or the `ext_id` links another account (`ext_id_taken`); or the Idempotency-Key is another request's, still being answered (`idempotency_key_in_progress`, with `Retry-After`) or whose answer was lost (`idempotency_key_answer_lost`). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "statusCode": 409,
                     *       "code": "ext_id_taken",
                     *       "message": "Another account has ext_id 4711 of external",
                     *       "field": "ext_id",
                     *       "requestId": "4f6b8e0c-2d4a-4c6e-9b1f-3a7d5e2c8b90"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            422: components["responses"]["IdempotencyKeyReused"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    ssoSignIn: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The token's user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SsoSignIn"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    searchUsers: {
        parameters: {
            query?: {
                /** @description The start of the username or of the email, regardless of case. */
                search?: components["parameters"]["UserSearchText"];
                /** @description The start of the username, regardless of case. */
                username?: components["parameters"]["UsernamePrefix"];
                /** @description The start of the email, regardless of case. */
                email?: components["parameters"]["EmailPrefix"];
                /** @description Only users with this status. */
                status?: components["parameters"]["UserStatus"];
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the users found, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listUsers: {
        parameters: {
            query?: {
                /** @description The start of the username or of the real name, regardless of case. */
                search?: string;
                /** @description The start of the username, regardless of case. */
                username?: components["parameters"]["UsernamePrefix"];
                /** @description The start of the real name, regardless of case. */
                real_name?: string;
                /** @description Only users with this status. */
                status?: components["parameters"]["UserStatus"];
                /** @description The order of the results, by `id`, `username` or `real_name`; `-` first for descending (`-username`). */
                ordering?: "id" | "-id" | "username" | "-username" | "real_name" | "-real_name";
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the users, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserListPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    autocompleteUsers: {
        parameters: {
            query?: {
                /** @description The start of the username or of the real name, regardless of case. */
                search?: string;
                /** @description The start of the username, regardless of case. */
                username?: components["parameters"]["UsernamePrefix"];
                /** @description The start of the real name, regardless of case. */
                real_name?: string;
                /** @description The order of the results, by `id`, `username` or `real_name`; `-` first for descending (`-username`). */
                ordering?: "id" | "-id" | "username" | "-username" | "real_name" | "-real_name";
                /** @description The most results on one page. */
                limit?: number;
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the users found, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserAutocompletePage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    matchUsernames: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example [
                 *       "jane_doe",
                 *       "ann_lee"
                 *     ]
                 */
                "application/json": components["schemas"]["UserMatchRequest"];
            };
        };
        responses: {
            /** @description The users found. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserAutocomplete"][];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getCurrentUserPermission: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The current user's permissions. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPermission"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listPreferences: {
        parameters: {
            query?: {
                /** @description Part of a preference's name or help text, regardless of case. */
                search?: string;
                /** @description Only the preferences of this section. */
                section?: string;
                /** @description Only these preferences, as a comma-separated list of `section.name` keys. */
                keys?: string;
                /** @description The order of the results; a leading `-` reverses it. */
                ordering?: "id" | "-id" | "name" | "-name" | "section" | "-section";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The preferences that match, all on one page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PreferencePage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updatePreferences: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "configurations.invite_code": true
                 *     }
                 */
                "application/json": components["schemas"]["PreferenceUpdateRequest"];
            };
        };
        responses: {
            /** @description The changed preferences, in the order given. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PreferenceList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /**
             * @description A field added by `configurations.user_metadata_definition` has the name of a field
             *     whose deletion is still being finished (`custom_field_exists`); retry shortly.
             */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getPreference: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The preference. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Preference"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listFeatures: {
        parameters: {
            query?: {
                /** @description Also list the features that are disabled. */
                all?: boolean;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The features, ordered by id, all on one page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FeaturePage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateFeature: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The feature's name, such as `promo_code`. */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "enabled": true
                 *     }
                 */
                "application/json": components["schemas"]["FeatureUpdateRequest"];
            };
        };
        responses: {
            /** @description The feature as changed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Feature"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listInviteCodes: {
        parameters: {
            query?: {
                /** @description Only codes in this state. */
                status?: components["schemas"]["InviteStatus"];
                /** @description Only codes bound to this email (regardless of case). */
                email?: string;
                /** @description Only codes whose code or name starts with this text (regardless of case). */
                search?: string;
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of invite codes, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvitePage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createInviteCode: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Makes a repeat of this request safe (draft-ietf-httpapi-idempotency-key-header): one value
                 *     of 1 to 255 printable ASCII characters, such as a UUID, bare or as `"..."`. The first
                 *     `2xx` answer is kept per caller and key for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 hours) and
                 *     given again to a repeat with the same key, caller, path and body, from any instance, with
                 *     `Idempotent-Replayed: true`; the change is made once. Another answer is not kept: a
                 *     repeat is answered anew, unless the change was committed all the same (a `503
                 *     outcome_unknown` that went through), when the repeat is `409 idempotency_key_answer_lost`.
                 *     The same key with another body is `422 idempotency_key_reused`; a repeat while the first
                 *     is still answered is `409 idempotency_key_in_progress` with `Retry-After`. Keys are per
                 *     caller. Answers are kept encrypted (a service client's holds its secret).
                 */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Jane from ACME",
                 *       "email": "jane@example.com",
                 *       "expires_at": "2030-12-31T23:59:59.000Z"
                 *     }
                 */
                "application/json": components["schemas"]["InviteCreateRequest"];
            };
        };
        responses: {
            /** @description The invite code was issued. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Invite"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description The code given is already an invite code, regardless of case (`invite_code_exists`); or the Idempotency-Key is another request's, still being answered (`idempotency_key_in_progress`, with `Retry-After`) or whose answer was lost (`idempotency_key_answer_lost`). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["IdempotencyKeyReused"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    checkInviteCode: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The code, in any case. */
                code: components["parameters"]["Code"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The state of the code. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InviteCheck"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    revokeInviteCode: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The code, in any case. */
                code: components["parameters"]["Code"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The revoked invite. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Invite"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description The code was already used (`invite_code_used`). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listPromoCodes: {
        parameters: {
            query?: {
                /** @description Only active (`true`) or deactivated (`false`) codes. */
                active?: boolean;
                /** @description Only codes whose code or name starts with this text (regardless of case). */
                search?: string;
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of promo codes, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromoPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createPromoCode: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Makes a repeat of this request safe (draft-ietf-httpapi-idempotency-key-header): one value
                 *     of 1 to 255 printable ASCII characters, such as a UUID, bare or as `"..."`. The first
                 *     `2xx` answer is kept per caller and key for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 hours) and
                 *     given again to a repeat with the same key, caller, path and body, from any instance, with
                 *     `Idempotent-Replayed: true`; the change is made once. Another answer is not kept: a
                 *     repeat is answered anew, unless the change was committed all the same (a `503
                 *     outcome_unknown` that went through), when the repeat is `409 idempotency_key_answer_lost`.
                 *     The same key with another body is `422 idempotency_key_reused`; a repeat while the first
                 *     is still answered is `409 idempotency_key_in_progress` with `Retry-After`. Keys are per
                 *     caller. Answers are kept encrypted (a service client's holds its secret).
                 */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Launch week",
                 *       "code": "LAUNCH-2026",
                 *       "valid_to": "2030-12-31T23:59:59.000Z",
                 *       "max_uses": 100
                 *     }
                 */
                "application/json": components["schemas"]["PromoCreateRequest"];
            };
        };
        responses: {
            /** @description The promo code was created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Promo"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description The code given is already a promo code, regardless of case (`promo_code_exists`); or the Idempotency-Key is another request's, still being answered (`idempotency_key_in_progress`, with `Retry-After`) or whose answer was lost (`idempotency_key_answer_lost`). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["IdempotencyKeyReused"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getPromoCode: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The code, in any case. */
                code: components["parameters"]["Code"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The promo code. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Promo"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listPromoRedemptions: {
        parameters: {
            query?: {
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path: {
                /** @description The code, in any case. */
                code: components["parameters"]["Code"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of redemptions, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromoRedemptionPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deactivatePromoCode: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The code, in any case. */
                code: components["parameters"]["Code"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The deactivated promo code. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Promo"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listWebhookEndpoints: {
        parameters: {
            query?: {
                /** @description The order of the results, by `created_at`, `updated_at` or `is_active`; `-` first for descending (`-created_at`, the default). */
                ordering?: "created_at" | "-created_at" | "updated_at" | "-updated_at" | "is_active" | "-is_active";
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of webhook endpoints, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpointPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Makes a repeat of this request safe (draft-ietf-httpapi-idempotency-key-header): one value
                 *     of 1 to 255 printable ASCII characters, such as a UUID, bare or as `"..."`. The first
                 *     `2xx` answer is kept per caller and key for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 hours) and
                 *     given again to a repeat with the same key, caller, path and body, from any instance, with
                 *     `Idempotent-Replayed: true`; the change is made once. Another answer is not kept: a
                 *     repeat is answered anew, unless the change was committed all the same (a `503
                 *     outcome_unknown` that went through), when the repeat is `409 idempotency_key_answer_lost`.
                 *     The same key with another body is `422 idempotency_key_reused`; a repeat while the first
                 *     is still answered is `409 idempotency_key_in_progress` with `Retry-After`. Keys are per
                 *     caller. Answers are kept encrypted (a service client's holds its secret).
                 */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "target": "https://mailer.example.com/hooks",
                 *       "description": "Welcome mails",
                 *       "events": [
                 *         {
                 *           "type": "user.created"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["WebhookEndpointRequest"];
            };
        };
        responses: {
            /** @description The endpoint was created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["IdempotencyConflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["IdempotencyKeyReused"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listWebhookEventTypes: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The event types. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example [
                     *       "user.created",
                     *       "user.updated"
                     *     ]
                     */
                    "application/json": string[];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The endpoint. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    replaceWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WebhookEndpointRequest"];
            };
        };
        responses: {
            /** @description The endpoint as it is now. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "is_active": false
                 *     }
                 */
                "application/json": components["schemas"]["WebhookEndpointPatchRequest"];
            };
        };
        responses: {
            /** @description The endpoint as it is now. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listWebhookEndpointAttempts: {
        parameters: {
            query?: {
                /** @description The order of the results, by `created_at`, `sent_at` or `next_retry`; `-` first for descending (`-created_at`, the default). */
                ordering?: "created_at" | "-created_at" | "sent_at" | "-sent_at" | "next_retry" | "-next_retry";
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of attempts, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookAttemptPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    expireWebhookSigningSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        /** @description Optional (SelfCommunity's client sends none); a missing body is `{}`. */
        requestBody?: {
            content: {
                "application/json": components["schemas"]["WebhookPasswordRequest"];
            };
        };
        responses: {
            /** @description The endpoint (its new secret is not part of it). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    revealWebhookSigningSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        /** @description Optional (SelfCommunity's client sends none); a missing body is `{}`. */
        requestBody?: {
            content: {
                "application/json": components["schemas"]["WebhookPasswordRequest"];
            };
        };
        responses: {
            /** @description The current signing secret. */
            201: {
                headers: {
                    /** @description Always `no-store`, as the answer holds the secret. */
                    "Cache-Control": "no-store";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookSigningSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    resendWebhookEndpointEvent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "event": 42
                 *     }
                 */
                "application/json": components["schemas"]["WebhookResendRequest"];
            };
        };
        responses: {
            /** @description The delivery is pending. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    resendWebhookEndpointEvents: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "event": [
                 *         42,
                 *         43
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["WebhookBulkResendRequest"];
            };
        };
        responses: {
            /** @description The deliveries are pending. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listRoles: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every role, ordered by name, all on one page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RolePage"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createRole: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "support",
                 *       "description": "The support team",
                 *       "permissions": [
                 *         "view-user-administration",
                 *         "view-full-other-user-info"
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["RoleCreateRequest"];
            };
        };
        responses: {
            /** @description The role was added. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Role"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description A role with this name exists (`role_exists`). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The role's name. */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "permissions": [
                 *         "create-user"
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["RoleUpdateRequest"];
            };
        };
        responses: {
            /** @description The role as changed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Role"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listAuditEntries: {
        parameters: {
            query?: {
                /** @description Only what this user (id) or service client (`client_id`) did. */
                actor?: string;
                /** @description Only what was done to this user (id) or service client (`client_id`). */
                subject?: string;
                /** @description Only entries of this action. */
                action?: string;
                /** @description Only entries written at or after this time. */
                since?: string;
                /** @description Only entries written before this time. */
                until?: string;
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the entries, newest first, with the total. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEntryPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listPermissions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every permission, all on one page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionPage"];
                };
            };
            400: components["responses"]["HttpBadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    moderateUser: {
        parameters: {
            query?: {
                /** @description Not supported (`400 unsupported_field`); a block lasts until an unblock. */
                days_blocked?: components["parameters"]["DaysBlocked"];
                /** @description 1 removes the user's row (a hard deletion); 0, or none, deletes softly. */
                hard?: components["parameters"]["Hard"];
            };
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "status": "b"
                 *     }
                 */
                "application/json": components["schemas"]["ModerateUserRequest"];
            };
        };
        responses: {
            /** @description The user has the status. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setUserRoles: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The numeric id. */
                id: components["parameters"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "roles": [
                 *         "user",
                 *         "moderator"
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["UserRolesRequest"];
            };
        };
        responses: {
            /** @description The user, with the roles. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listClients: {
        parameters: {
            query?: {
                /** @description The most results on one page. */
                limit?: components["parameters"]["Limit"];
                /** @description How many results to skip. */
                offset?: components["parameters"]["Offset"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of clients. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthClientPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createClient: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Makes a repeat of this request safe (draft-ietf-httpapi-idempotency-key-header): one value
                 *     of 1 to 255 printable ASCII characters, such as a UUID, bare or as `"..."`. The first
                 *     `2xx` answer is kept per caller and key for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 hours) and
                 *     given again to a repeat with the same key, caller, path and body, from any instance, with
                 *     `Idempotent-Replayed: true`; the change is made once. Another answer is not kept: a
                 *     repeat is answered anew, unless the change was committed all the same (a `503
                 *     outcome_unknown` that went through), when the repeat is `409 idempotency_key_answer_lost`.
                 *     The same key with another body is `422 idempotency_key_reused`; a repeat while the first
                 *     is still answered is `409 idempotency_key_in_progress` with `Retry-After`. Keys are per
                 *     caller. Answers are kept encrypted (a service client's holds its secret).
                 */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "mailer",
                 *       "roles": [
                 *         "moderator"
                 *       ],
                 *       "scope": "read"
                 *     }
                 */
                "application/json": components["schemas"]["OAuthClientCreateRequest"];
            };
        };
        responses: {
            /** @description The client, with its secret. */
            201: {
                headers: {
                    /** @description Always `no-store`, as the answer holds the secret. */
                    "Cache-Control": "no-store";
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "client_id": "cl_mailerexamplen4t3gj2rq7x",
                     *       "client_secret": "<client_secret>",
                     *       "name": "mailer",
                     *       "roles": [
                     *         "moderator"
                     *       ],
                     *       "permissions": [
                     *         "view-full-other-user-info",
                     *         "view-user-administration"
                     *       ],
                     *       "scope": "read",
                     *       "enabled": true,
                     *       "created_by": 1,
                     *       "created_by_client": null,
                     *       "created_at": "2026-12-02T10:00:00.000Z",
                     *       "updated_at": "2026-12-02T10:00:00.000Z",
                     *       "secret_rotated_at": "2026-12-02T10:00:00.000Z",
                     *       "last_used_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["OAuthClientWithSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["IdempotencyConflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["IdempotencyKeyReused"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getClient: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The client's `client_id`. */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The client, without its secret. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthClient"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteClient: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The client's `client_id`. */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateClient: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The client's `client_id`. */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "enabled": false
                 *     }
                 */
                "application/json": components["schemas"]["OAuthClientUpdateRequest"];
            };
        };
        responses: {
            /** @description The client as changed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthClient"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    rotateClientSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The client's `client_id`. */
                client_id: components["parameters"]["ClientId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The client, with its new secret. */
            200: {
                headers: {
                    /** @description Always `no-store`, as the answer holds the secret. */
                    "Cache-Control": "no-store";
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthClientWithSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    rocketChatLogin: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RocketChatLoginRequest"];
            };
        };
        responses: {
            /** @description Logged in. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatLoginResponse"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            /** @description Unknown user, wrong password (`Unauthorized`), or a user who is not active (`error-user-is-not-activated`). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatLoginFailure"];
                };
            };
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            429: components["responses"]["RocketChatTooManyRequests"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatSetActiveStatus: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "userId": "42",
                 *       "activeStatus": false
                 *     }
                 */
                "application/json": components["schemas"]["RocketChatSetActiveStatusRequest"];
            };
        };
        responses: {
            /** @description The user has the status. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user": {
                     *         "_id": "42",
                     *         "active": false
                     *       },
                     *       "success": true
                     *     }
                     */
                    "application/json": components["schemas"]["RocketChatSetActiveStatusResponse"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatDeleteUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "userId": "42"
                 *     }
                 */
                "application/json": components["schemas"]["RocketChatDeleteUserRequest"];
            };
        };
        responses: {
            /** @description The user is deleted. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatSuccess"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatGeneratePersonalAccessToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RocketChatGeneratePersonalAccessTokenRequest"];
            };
        };
        responses: {
            /** @description The token, shown this once. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatPersonalAccessTokenResponse"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatRegeneratePersonalAccessToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RocketChatPersonalAccessTokenNameRequest"];
            };
        };
        responses: {
            /** @description The new token, shown this once. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatPersonalAccessTokenResponse"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatGetPersonalAccessTokens: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The tokens. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatPersonalAccessTokens"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatRemovePersonalAccessToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RocketChatPersonalAccessTokenNameRequest"];
            };
        };
        responses: {
            /** @description Removed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatSuccess"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatDeleteOwnAccount: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RocketChatDeleteOwnAccountRequest"];
            };
        };
        responses: {
            /** @description The account is deleted. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatSuccess"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            429: components["responses"]["RocketChatTooManyRequests"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatCreateUser: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Makes a repeat of this request safe (draft-ietf-httpapi-idempotency-key-header): one value
                 *     of 1 to 255 printable ASCII characters, such as a UUID, bare or as `"..."`. The first
                 *     `2xx` answer is kept per caller and key for `IDEMPOTENCY_KEY_TTL_SECONDS` (24 hours) and
                 *     given again to a repeat with the same key, caller, path and body, from any instance, with
                 *     `Idempotent-Replayed: true`; the change is made once. Another answer is not kept: a
                 *     repeat is answered anew, unless the change was committed all the same (a `503
                 *     outcome_unknown` that went through), when the repeat is `409 idempotency_key_answer_lost`.
                 *     The same key with another body is `422 idempotency_key_reused`; a repeat while the first
                 *     is still answered is `409 idempotency_key_in_progress` with `Retry-After`. Keys are per
                 *     caller. Answers are kept encrypted (a service client's holds its secret).
                 */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Jane Doe",
                 *       "email": "jane@example.com",
                 *       "password": "Corr3ct-Horse",
                 *       "username": "jane_doe"
                 *     }
                 */
                "application/json": components["schemas"]["RocketChatUserCreateRequest"];
            };
        };
        responses: {
            /** @description The user was created. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user": {
                     *         "_id": "42",
                     *         "createdAt": "2026-11-25T10:00:00.000Z",
                     *         "username": "jane_doe",
                     *         "emails": [
                     *           {
                     *             "address": "jane@example.com",
                     *             "verified": false
                     *           }
                     *         ],
                     *         "type": "user",
                     *         "status": "offline",
                     *         "active": true,
                     *         "roles": [
                     *           "user"
                     *         ],
                     *         "_updatedAt": "2026-11-25T10:00:00.000Z",
                     *         "name": "Jane Doe",
                     *         "settings": {},
                     *         "requirePasswordChange": false
                     *       },
                     *       "success": true
                     *     }
                     */
                    "application/json": components["schemas"]["RocketChatUserResponse"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            422: components["responses"]["RocketChatIdempotencyKeyReused"];
            429: components["responses"]["RocketChatTooManyRequests"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatMailUnavailable"];
        };
    };
    rocketChatUpdateUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "userId": "42",
                 *       "data": {
                 *         "name": "Jane Roe",
                 *         "bio": "Climbs things."
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["RocketChatUserUpdateRequest"];
            };
        };
        responses: {
            /** @description The changed user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatUserResponse"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatMailUnavailable"];
        };
    };
    rocketChatUpdateOwnBasicInfo: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "data": {
                 *         "name": "Jane Roe",
                 *         "statusText": "On holiday"
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["RocketChatUpdateOwnBasicInfoRequest"];
            };
        };
        responses: {
            /** @description The changed user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatUserResponse"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            429: components["responses"]["RocketChatTooManyRequests"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatMailUnavailable"];
        };
    };
    rocketChatUserInfo: {
        parameters: {
            query?: {
                /** @description The user's `_id`. */
                userId?: string;
                /** @description The user's username, in any case. */
                username?: string;
                /** @description Accepted for compatibility; the whole view is always returned. */
                fields?: string;
                /** @description Accepted for compatibility; rooms are not known here, so none are returned. */
                includeUserRooms?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatUserInfoResponse"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatForgotPassword: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RocketChatEmailRequest"];
            };
        };
        responses: {
            /** @description If an active account has this email, a recovery code is on its way to it. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatSuccess"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            429: components["responses"]["RocketChatTooManyRequests"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatMailUnavailable"];
        };
    };
    rocketChatSendConfirmationEmail: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RocketChatEmailRequest"];
            };
        };
        responses: {
            /** @description The verification mail is on its way. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatSuccess"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            429: components["responses"]["RocketChatTooManyRequests"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatMailUnavailable"];
        };
    };
    rocketChatSendWelcomeEmail: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RocketChatEmailRequest"];
            };
        };
        responses: {
            /** @description The welcome mail is on its way. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatSuccess"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            429: components["responses"]["RocketChatTooManyRequests"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatMailUnavailable"];
        };
    };
    rocketChatGetCustomFieldsSetting: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The setting. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "_id": "Accounts_CustomFields",
                     *       "value": "{\"twitter\":{\"type\":\"text\",\"required\":false,\"maxLength\":15,\"public\":true}}",
                     *       "success": true
                     *     }
                     */
                    "application/json": components["schemas"]["RocketChatCustomFieldsSetting"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatSetCustomFieldsSetting: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "value": "{\"twitter\":{\"type\":\"text\",\"required\":false,\"maxLength\":15,\"public\":true},\"role\":{\"type\":\"select\",\"options\":[\"teacher\",\"student\"],\"defaultValue\":\"student\",\"required\":true}}"
                 *     }
                 */
                "application/json": components["schemas"]["RocketChatSettingUpdateRequest"];
            };
        };
        responses: {
            /** @description The registry was replaced. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatSuccess"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            413: components["responses"]["RocketChatPayloadTooLarge"];
            415: components["responses"]["RocketChatUnsupportedMediaType"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatListUsers: {
        parameters: {
            query?: {
                /** @description The most users on one page. */
                count?: number;
                /** @description How many users to skip. */
                offset?: number;
                /** @description The order, as JSON: `{"username": 1}`. */
                sort?: string;
                /** @description Filters, as JSON: `{"active": true, "name": "Jan"}`. */
                query?: string;
                /** @description The start of the email, regardless of case. */
                email?: string;
                /** @description Accepted for compatibility; the whole view is always returned. */
                fields?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the users. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatUserList"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatCheckUsernameAvailability: {
        parameters: {
            query: {
                /** @description The username to check. */
                username: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Whether the username is free. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatBooleanResult"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    rocketChatGetUsernameSuggestion: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The suggestion. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RocketChatStringResult"];
                };
            };
            400: components["responses"]["RocketChatBadRequest"];
            401: components["responses"]["RocketChatUnauthorized"];
            431: components["responses"]["RocketChatHeadersTooLarge"];
            500: components["responses"]["RocketChatInternalError"];
            503: components["responses"]["RocketChatServiceUnavailable"];
        };
    };
    webhookUserCreated: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserCreatedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhookUserUpdated: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserUpdatedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhookUserEmailChanged: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserEmailChangedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhookUserEmailVerified: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserEmailVerifiedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhookUserPasswordChanged: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserPasswordChangedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhookUserBlocked: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserBlockedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhookUserUnblocked: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserUnblockedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhookUserDeleted: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserDeletedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    webhookUserRolesChanged: {
        parameters: {
            query?: never;
            header: {
                /** @description The event's id, the same on every retry of it to any endpoint; receivers drop what they already have by it. */
                "webhook-id": components["parameters"]["WebhookId"];
                /** @description When this attempt was made, in Unix seconds. */
                "webhook-timestamp": components["parameters"]["WebhookTimestamp"];
                /** @description Standard Webhooks signatures, space-separated: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded part after `whsec_` of each secret that signs (two during a rollover). */
                "webhook-signature": components["parameters"]["WebhookSignature"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserRolesChangedEvent"];
            };
        };
        responses: {
            /** @description Delivered (any 2xx within `WEBHOOK_TIMEOUT_SECONDS` is). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not delivered (as is any other answer, a redirect or none); retried with a growing delay. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
}
