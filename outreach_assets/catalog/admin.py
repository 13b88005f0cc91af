"""Administration of the organisation: audit logs, compliance requests, webhooks, bulk actions.

These need an admin's authorization (their scopes are not granted to every user) and most
have no filterable timestamp; exclude them with ``OUTREACH_EXCLUDE_STREAMS`` if the app is
not granted their scopes.
"""

from outreach_assets.catalog.model import Replication, Stream, fields, links, rels

ADMIN_STREAMS: tuple[Stream, ...] = (
    Stream(
        name="audit_logs",
        path="auditLogs",
        json_type="auditLog",
        replication=Replication.INCREMENTAL,
        cursor="timestamp",
        fields=fields(
            s="action eventName globalId orgId requestId result",
            ts="timestamp",
            j="additionalInfo agent changes",
        ),
        description=(
            "Audit trail of administrative and security events (kept about 90 days by Outreach); "
            "needs an admin's authorization. Incremental on its filterable, sortable event time, "
            "timestamp."
        ),
    ),
    Stream(
        name="compliance_requests",
        path="complianceRequests",
        json_type="complianceRequest",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(
            s="batchComplianceRequestUuid objectType requestObjectId requestType state uuid",
            ts="createdAt updatedAt",
            j="pii",
        ),
        relationships=rels("requester:user"),
        dropped_by_default=("pii",),
        description=(
            "Regulatory requests to delete or export a person's data; no filterable timestamp, so "
            "read as a full snapshot. pii is dropped unless kept on purpose."
        ),
    ),
    Stream(
        name="webhooks",
        path="webhooks",
        json_type="webhook",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(
            s="action disabledReason resource secret url",
            i="payloadVersion",
            b="active",
            ts="createdAt disabledSince disabledUntil updatedAt",
        ),
        relationships=rels("authorizer:user creator:user updater:user"),
        dropped_by_default=("secret",),
        description=(
            "Webhooks configured in the organisation; no filterable timestamp, so read as a full "
            "snapshot. secret is dropped unless kept on purpose."
        ),
    ),
    Stream(
        name="batches",
        path="batches",
        json_type="batch",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(
            s="action externalStartPayload state",
            i="confirmCount failures pending total",
            b="confirmedCountRequired",
            ts="canceledAt confirmedAt createdAt finishedAt startedAt updatedAt",
            j="payload summary",
        ),
        relationships=rels("creator:user"),
        links_only=links("batchItems"),
        description=(
            "Bulk actions (imports, updates) and their progress; no filterable timestamp, so read "
            "as a full snapshot."
        ),
    ),
    Stream(
        name="batch_items",
        path="batchItems",
        json_type="batchItem",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(
            s="data info state",
            b="failed",
            ts="createdAt",
        ),
        relationships=rels("batch:batch"),
        description=(
            "The records of each bulk action and their outcome; no filterable timestamp, so read "
            "as a full snapshot."
        ),
    ),
)
