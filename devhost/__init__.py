"""Drydock's own local Functions host.

Azure Functions Core Tools cannot be installed everywhere we develop, so this
package serves the same ``azure.functions.FunctionApp`` with the real host's
semantics: HTTP under ``/api`` with function keys, base64 queue triggers with a
``<queue>-poison`` queue after five dequeues, and NCRONTAB timers that fire on
one instance at a time. Run it with ``python -m devhost``.
"""
