"""The partitioned stream asset: one API sweep per run, one file per partition.

Backfills run as a single run per range (``BackfillPolicy.single_run``), so a range costs
about one scan of the API instead of one scan per partition; the store splits the sweep
into per-partition files, and the checks are computed on those files as they are committed.
"""

import contextlib
import time
from collections.abc import Iterator

import dagster as dg

from outreach_assets.assets.bound import io_manager_of, outreach_keys, outreach_of
from outreach_assets.assets.checks import check_results, check_specs
from outreach_assets.assets.columns import column_schema
from outreach_assets.assets.custom_fields import custom_field_labels
from outreach_assets.assets.lifeline import guard_step
from outreach_assets.assets.metadata import log_run, partition_metadata, run_metadata
from outreach_assets.assets.sweep import land
from outreach_assets.assets.translator import OutreachTranslator, asset_arguments
from outreach_assets.catalog import Stream
from outreach_assets.convert import arrow_schema
from outreach_assets.errors import FatalError, RetriableError
from outreach_assets.storage import PartitionWindow

# Transient failures the client's own retries did not absorb (a long outage): the step is
# run again later, with these growing, jittered delays. The policy is not the asset's
# retry_policy, because Dagster turns an interrupt inside an op that has one (Ctrl-C,
# SIGTERM, Terminate in the UI) into a retry (https://github.com/dagster-io/dagster/issues/15026):
# a stopped run would go on and wait for the quota again. A killed worker is the instance's
# run_retries' business (dagster.yaml).
RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def _retries_enabled(context: dg.AssetExecutionContext) -> bool:
    """Whether the executor runs a step again that asks for it (run config may disable it).
    Not ``enabled``: a multiprocess step worker's mode is ``deferred``, its parent retries."""
    step_context = context.op_execution_context.get_step_execution_context()
    return not step_context.retry_mode.disabled


def _wait_before_retry(context: dg.AssetExecutionContext, what: str, exc: Exception) -> None:
    """Sleep out the delay before the next attempt here, in the step, then ask Dagster for
    an immediate retry.

    Why not ``RetryRequested(seconds_to_wait=...)``: the executors then sleep the delay
    themselves, where no stop reaches (the in-process plan loop's ``sleep_til_ready`` runs
    under ``capture_interrupts``, whose handler only sets a flag, and ``time.sleep`` goes on
    after it), and launch the retry when it ends. This sleep runs in the step's main
    thread, where Dagster raises a Ctrl-C, SIGTERM or Terminate at once
    (``raise_execution_interrupts``): the step fails at the stop and nothing is retried.
    The cost: the step keeps its ``outreach_api`` pool slot while it waits, which an
    outage would make useless to the other streams anyway.
    """
    attempt = context.retry_number + 1
    if attempt > RETRY_POLICY.max_retries or not _retries_enabled(context):
        return  # RetryRequested below fails the step: retries are used up or disabled
    delay = RETRY_POLICY.calculate_delay(attempt)
    context.log.warning(
        f"{what}: {exc}. Retry {attempt} of {RETRY_POLICY.max_retries} in {delay:.1f} s "
        "(a stop during this wait ends the run, without the retry)."
    )
    time.sleep(delay)


@contextlib.contextmanager
def outreach_failures(context: dg.AssetExecutionContext, what: str) -> Iterator[None]:
    """Outreach errors as Dagster outcomes: a retriable one waits, then asks for a retry;
    a fatal one fails the step at once, naming ``what`` was being done. Entering it also
    makes the step's process answer for the run (``lifeline.guard_step``)."""
    guard_step(context)
    try:
        yield
    except RetriableError as exc:
        _wait_before_retry(context, what, exc)
        raise dg.RetryRequested(max_retries=RETRY_POLICY.max_retries) from exc
    except FatalError as exc:
        raise dg.Failure(
            description=f"{what}: {exc}. Retrying cannot fix this; the previous files are "
            "unchanged.",
            allow_retries=False,
        ) from exc


def run_windows(
    context: dg.AssetExecutionContext, partitions_def: dg.TimeWindowPartitionsDefinition
) -> list[PartitionWindow]:
    """The windows of this run's partitions, in order (one, or a backfill's whole range)."""
    windows = []
    for key in context.partition_keys:
        window = partitions_def.time_window_for_partition_key(key)
        windows.append(PartitionWindow(key, window.start, window.end))
    return windows


def build_stream_asset(
    stream: Stream,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    keep: frozenset[str] = frozenset(),
    translator: OutreachTranslator | None = None,
) -> dg.AssetsDefinition:
    """One partitioned asset for a catalog stream."""
    schema = arrow_schema(stream, keep)
    translator = translator or OutreachTranslator()
    spec = translator.get_asset_spec(stream, schema)

    @dg.asset(
        **asset_arguments(spec),
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=translator.pool,
        check_specs=check_specs(spec.key),
        required_resource_keys=outreach_keys(translator),
        io_manager_key=translator.io_manager_key,
    )
    def _stream_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        windows = run_windows(context, partitions_def)
        outreach = outreach_of(context, translator)
        store = io_manager_of(context, translator).ready_store()  # before any request
        what = f"{stream.name}, partitions {windows[0].key}..{windows[-1].key}"
        started = time.process_time()
        with outreach_failures(context, what):
            landed = land(outreach.get_client(), store, stream, windows, keep)
        # The process's CPU (all threads) for HTTP, decoding and Parquet: steps run one at
        # a time in the run's process, so the rest of a run's CPU is Dagster's bookkeeping.
        sweep_cpu_s = round(time.process_time() - started, 3)
        results, stats, requests = landed.results, landed.stats, landed.requests
        log_run(
            context.log, stream, windows=windows, results=results, stats=stats, requests=requests
        )
        for result in results[:-1]:
            context.add_asset_metadata(partition_metadata(stream, result), partition_key=result.key)
        if results:
            last = results[-1]
            labels = custom_field_labels(store, stream.json_type)
            summary = {
                **partition_metadata(stream, last),
                **run_metadata(results, stats, requests),
                "sweep_cpu_s": sweep_cpu_s,
                "dagster/column_schema": column_schema(stream, schema, labels),
            }
            context.add_asset_metadata(summary, partition_key=last.key)
        return dg.MaterializeResult(check_results=check_results(results))

    return _stream_asset
