"""Use cases, one module per family: each owns its transaction, authorization and typed
outcomes. Below the API (no GraphQL, Starlette or Strawberry here), above `db` (which never
imports this package): `api → services → db → geo`."""
