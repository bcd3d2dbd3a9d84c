//! Running audit tables on [Ballista](https://datafusion.apache.org/ballista/): the codecs
//! that carry an [`AuditTable`] (client → scheduler) and an [`AuditScanExec`]
//! (scheduler → executors), and the session state, function registry and process configs a
//! client, scheduler and executor need.
//!
//! A stock Ballista executor cannot decode a custom table or aggregate: the scheduler and
//! every executor must be built with these (see the `scheduler` and `executor` examples, and
//! the README's *Beyond one machine*). The files must be readable at the same paths on every
//! executor.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auditframe_datafusion::{ballista, register_audit, AuditTableOptions};
//! // An in-process scheduler and executor (tests, one machine)…
//! let ctx = ballista::standalone_context().await?;
//! // …or a cluster: ballista::remote_context("df://scheduler:50050").await?
//! register_audit(&ctx, "audit", &["/exports/"], &AuditTableOptions::default()).await?;
//! ctx.sql("SELECT count(*) FROM audit").await?.show().await?;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SessionState, SessionStateBuilder, TaskContext};
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::PhysicalExtensionCodec;
use serde::{Deserialize, Serialize};

use crate::scan::ScanConfig;
use crate::{functions, AuditScanExec, AuditTable, AuditTableOptions, Format, Result};

/// Marks auditframe's messages among Ballista's own (protobuf) ones.
const TABLE_MAGIC: &[u8] = b"\xffauditframe-table:";
const SCAN_MAGIC: &[u8] = b"\xffauditframe-scan:";

/// An [`AuditTable`] on the wire.
#[derive(Serialize, Deserialize)]
struct TableMessage {
    files: Vec<(std::path::PathBuf, u64)>,
    format: Format,
    options: AuditTableOptions,
    copies_in_scan: bool,
}

fn codec_error(what: &str, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Internal(format!("auditframe codec: {what}: {e}"))
}

fn scalar_by_name(name: &str) -> Option<Arc<ScalarUDF>> {
    functions::scalar_functions()
        .into_iter()
        .find(|f| f.name() == name)
}

fn aggregate_by_name(name: &str) -> Option<Arc<AggregateUDF>> {
    functions::aggregate_functions()
        .into_iter()
        .find(|f| f.name() == name)
}

/// Ballista's logical codec plus [`AuditTable`]s and auditframe's functions.
#[derive(Debug, Default)]
pub struct AuditLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for AuditLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> DfResult<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        match buf.strip_prefix(TABLE_MAGIC) {
            Some(json) => {
                let m: TableMessage =
                    serde_json::from_slice(json).map_err(|e| codec_error("table", e))?;
                Ok(Arc::new(AuditTable::from_parts(
                    m.files,
                    m.format,
                    m.options,
                    m.copies_in_scan,
                )))
            }
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        match node.downcast_ref::<AuditTable>() {
            Some(t) => {
                let m = TableMessage {
                    files: t.files().to_vec(),
                    format: t.format(),
                    options: t.options().clone(),
                    copies_in_scan: t.copies_in_scan(),
                };
                buf.extend_from_slice(TABLE_MAGIC);
                serde_json::to_writer(buf, &m).map_err(|e| codec_error("table", e))
            }
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn datafusion::datasource::file_format::FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn datafusion::datasource::file_format::FileFormatFactory>,
    ) -> DfResult<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        scalar_by_name(name).map_or_else(|| self.inner.try_decode_udf(name, buf), Ok)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        aggregate_by_name(name).map_or_else(|| self.inner.try_decode_udaf(name, buf), Ok)
    }
}

/// Ballista's physical codec plus [`AuditScanExec`] and auditframe's functions.
#[derive(Debug, Default)]
pub struct AuditPhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for AuditPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match buf.strip_prefix(SCAN_MAGIC) {
            Some(json) => {
                let config: ScanConfig =
                    serde_json::from_slice(json).map_err(|e| codec_error("scan", e))?;
                Ok(Arc::new(AuditScanExec::from_config(config)))
            }
            None => self.inner.try_decode(buf, inputs, ctx),
        }
    }

    fn try_encode(&self, node: Arc<dyn ExecutionPlan>, buf: &mut Vec<u8>) -> DfResult<()> {
        match node.downcast_ref::<AuditScanExec>() {
            Some(scan) => {
                buf.extend_from_slice(SCAN_MAGIC);
                serde_json::to_writer(buf, scan.config()).map_err(|e| codec_error("scan", e))
            }
            None => self.inner.try_encode(node, buf),
        }
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        scalar_by_name(name).map_or_else(|| self.inner.try_decode_udf(name, buf), Ok)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        aggregate_by_name(name).map_or_else(|| self.inner.try_decode_udaf(name, buf), Ok)
    }
}

/// A Ballista session config carrying auditframe's codecs.
pub fn session_config() -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(Arc::new(AuditLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(AuditPhysicalCodec::default()))
}

/// A session state of `config` (made a Ballista config, with auditframe's codecs, if it is
/// not one) with DataFusion's default functions and auditframe's: what a client, the
/// scheduler (`SchedulerConfig::override_session_builder`) and the in-process standalone
/// cluster plan with.
pub fn session_state(config: SessionConfig) -> DfResult<SessionState> {
    let config = config
        .with_ballista_logical_extension_codec(Arc::new(AuditLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(AuditPhysicalCodec::default()));
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::new_with_state(state);
    functions::register(&ctx);
    Ok(ctx.state())
}

/// DataFusion's functions plus auditframe's, for an executor
/// (`ExecutorProcessConfig::override_function_registry`).
pub fn function_registry() -> BallistaFunctionRegistry {
    let mut r = BallistaFunctionRegistry::default();
    for f in functions::scalar_functions() {
        r.scalar_functions.insert(f.name().to_owned(), f);
    }
    for f in functions::aggregate_functions() {
        r.aggregate_functions.insert(f.name().to_owned(), f);
    }
    r
}

/// A context whose queries run on an in-process Ballista scheduler and executor.
pub async fn standalone_context() -> Result<SessionContext> {
    let state = session_state(session_config())?;
    Ok(SessionContext::standalone_with_state(state).await?)
}

/// A context whose queries run on the Ballista cluster at `url` (`df://host:port`), whose
/// scheduler and executors carry auditframe's codecs and functions.
pub async fn remote_context(url: &str) -> Result<SessionContext> {
    let state = session_state(session_config())?;
    let ctx = SessionContext::remote_with_state(url, state).await?;
    Ok(ctx)
}

/// The scheduler process config with auditframe's codecs and session state (bind address
/// and other fields as Ballista's defaults; set them on the result).
pub fn scheduler_config() -> ballista_scheduler::config::SchedulerConfig {
    ballista_scheduler::config::SchedulerConfig {
        override_config_producer: Some(Arc::new(session_config)),
        override_session_builder: Some(Arc::new(session_state)),
        override_logical_codec: Some(Arc::new(AuditLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(AuditPhysicalCodec::default())),
        ..Default::default()
    }
}

/// The executor process config with auditframe's codecs and functions (ports, scheduler
/// address and other fields as Ballista's defaults; set them on the result).
pub fn executor_config() -> ballista_executor::executor_process::ExecutorProcessConfig {
    ballista_executor::executor_process::ExecutorProcessConfig {
        override_config_producer: Some(Arc::new(session_config)),
        override_logical_codec: Some(Arc::new(AuditLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(AuditPhysicalCodec::default())),
        override_function_registry: Some(Arc::new(function_registry())),
        ..Default::default()
    }
}
