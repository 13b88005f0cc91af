"""Column descriptions of the admin streams' attributes: audit logs, compliance, webhooks, batches.

Keyed by stream name, then attribute name. ``descriptions`` reads these before its shared
``COMMON`` table, so an entry here is for a name that means something specific in its stream
(or that only the stream has).
"""

from collections.abc import Mapping

_AUDIT_LOGS: Mapping[str, str] = {
    "action": "Action that was taken.",
    "additionalInfo": "JSON of further details about the action.",
    "agent": "JSON describing who or what performed the action.",
    "changes": "JSON list of the changes made.",
    "eventName": "Name of the audit event.",
    "globalId": "Global UUID of the audit entry.",
    "orgId": "UUID of the Outreach organisation.",
    "requestId": "UUID of the request; entries with the same one belong together.",
    "result": "Result of the action: completed, pending or failed.",
    "timestamp": "When the action happened.",
}

_COMPLIANCE_REQUESTS: Mapping[str, str] = {
    "batchComplianceRequestUuid": "UUID of the batch the request belongs to.",
    "objectType": (
        "Kind of record processed: Prospect, or Recipient for an address without a prospect."
    ),
    "pii": "JSON of the personal data needed to carry out the request; dropped unless kept.",
    "requestObjectId": "The record processed: a prospect's id, or a recipient's email address.",
    "requestType": "Kind of request; only Delete is supported.",
    "state": "State of the request: pending, running, failed or done.",
    "uuid": "UUID of the compliance request.",
}

_WEBHOOKS: Mapping[str, str] = {
    "action": "Action that triggers the webhook, e.g. created, updated, destroyed, or * for all.",
    "active": "Whether the webhook is active.",
    "disabledReason": "Why the webhook was temporarily disabled; any update clears it.",
    "disabledSince": "When the webhook was first temporarily disabled; any update clears it.",
    "disabledUntil": "Until when the webhook is temporarily disabled; any update clears it.",
    "payloadVersion": "Format version of the body the webhook sends: 1 or 2.",
    "resource": (
        "Resource type that triggers the webhook, e.g. prospect, sequenceState, or * for all."
    ),
    "secret": "Private token to check that webhook requests are genuine; dropped unless kept.",
    "url": "URL the webhook sends its POST requests to.",
}

_BATCHES: Mapping[str, str] = {
    "action": "Action performed on the batch's records.",
    "canceledAt": "When the batch was cancelled.",
    "confirmCount": "Number of the batch's items waiting to be confirmed.",
    "confirmedAt": "When the batch was confirmed.",
    "confirmedCountRequired": "Whether the user must confirm confirmCount explicitly.",
    "externalStartPayload": "Optional input for batch operations run by an external system.",
    "failures": "Number of the batch's items that failed.",
    "finishedAt": "When the batch finished.",
    "payload": "JSON input of the batch operation.",
    "pending": "Number of the batch's items still pending.",
    "startedAt": "When the batch started.",
    "state": "Current state of the batch.",
    "summary": "JSON summary of the batch, with details of failures.",
    "total": "Total number of the batch's items.",
}

_BATCH_ITEMS: Mapping[str, str] = {
    "data": "Data the item was asked to process.",
    "failed": "Whether processing the item failed.",
    "info": "What went wrong, when the item failed.",
    "state": "Current state of the item.",
}


ADMIN_FIELDS: Mapping[str, Mapping[str, str]] = {
    "audit_logs": _AUDIT_LOGS,
    "compliance_requests": _COMPLIANCE_REQUESTS,
    "webhooks": _WEBHOOKS,
    "batches": _BATCHES,
    "batch_items": _BATCH_ITEMS,
}
