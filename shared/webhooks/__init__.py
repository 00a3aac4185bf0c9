"""Git host webhooks: signature checks and payload views, pure (no I/O).

Each provider module turns its host's headers and JSON into one ``GitEvent``
(or an ``Ignored`` with the reason), so the trigger service never sees a
provider's payload shape.
"""
