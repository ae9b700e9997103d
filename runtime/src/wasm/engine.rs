//! The one Wasm engine of the process: epoch ticker, compile cache, and the linker that
//! grants components their imports.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Cache, CacheConfig, Config, Engine, Store, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpCtx;

use super::http_hooks::{FaultCell, HttpHooks};
use super::limiter::MemoryLimiter;
use super::limits::MAX_MESSAGE_BYTES;
use super::linker::new_linker;
use super::permissions::Permissions;
use super::state::HostState;
use crate::contract::ConnectorError;

/// How often the epoch advances: a running call yields and checks its deadline this often.
const TICK: Duration = Duration::from_millis(10);

/// The process's Wasm engine.
pub struct WasmEngine {
    engine: Engine,
    linker: Linker<HostState>,
    /// The same, with `wasi:http` added: for components whose grant names origins.
    http_linker: Linker<HostState>,
    cache: Option<Cache>,
}

static ENGINE: OnceLock<Result<WasmEngine, String>> = OnceLock::new();

/// Where compiled components are cached: `HYGGE_CACHE_DIR`, else `$XDG_CACHE_HOME/hygge`,
/// else `$HOME/.cache/hygge`; `wasm/` below it.
fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("HYGGE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("hygge")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/hygge")))?;
    Some(base.join("wasm"))
}

impl WasmEngine {
    /// The engine, created on first use.
    ///
    /// # Errors
    /// An internal error when wasmtime cannot be set up on this machine.
    pub fn global() -> Result<&'static WasmEngine, ConnectorError> {
        ENGINE
            .get_or_init(|| WasmEngine::new().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| ConnectorError::internal(format!("cannot start the Wasm engine: {e}")))
    }

    fn new() -> wasmtime::Result<WasmEngine> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        // For `perf`: names the compiled guest functions in /tmp/perf-<pid>.map.
        if std::env::var_os("HYGGE_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        // The compile cache is keyed by the component's bytes and the engine's version
        // and settings, so a flow's second start skips compilation.
        let cache = match cache_dir() {
            Some(dir) => {
                let mut cache_config = CacheConfig::new();
                cache_config.with_directory(dir);
                match Cache::new(cache_config) {
                    Ok(cache) => Some(cache),
                    Err(e) => {
                        tracing::warn!(error = %e, "the Wasm compile cache is off");
                        None
                    }
                }
            }
            None => None,
        };
        config.cache(cache.clone());
        let engine = Engine::new(&config)?;
        // The ticker holds only a weak reference, so it ends with the engine.
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("hygge-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })?;
        let linker = new_linker(&engine, false)?;
        let http_linker = new_linker(&engine, true)?;
        Ok(WasmEngine {
            engine,
            linker,
            http_linker,
            cache,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker for instantiating a component: `wasi:http` is there only when `http`
    /// (its grant names origins, or the host checks every request against an empty grant).
    pub(crate) fn linker(&self, http: bool) -> &Linker<HostState> {
        if http {
            &self.http_linker
        } else {
            &self.linker
        }
    }

    /// Compiles (or loads from the cache) a component.
    pub fn compile(&self, bytes: &[u8]) -> wasmtime::Result<Component> {
        Component::new(&self.engine, bytes)
    }

    /// Compile-cache hits so far in this process.
    pub fn cache_hits(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::cache_hits)
    }

    /// A store for one instance, with its limiter and its first deadline set (a deadline
    /// must be in place before instantiation, or instantiation traps).
    pub(crate) fn new_store(
        &self,
        component: &str,
        permissions: &Permissions,
    ) -> Result<Store<HostState>, ConnectorError> {
        let (wasi, stdout, stderr) = permissions.wasi()?;
        let state = HostState {
            wasi,
            table: Default::default(),
            http_ctx: WasiHttpCtx::new(),
            http: HttpHooks {
                grant: permissions.http().clone(),
                response_limit: permissions.response_limit(),
                request_timeout: permissions.request_timeout(),
                faults: FaultCell::default(),
            },
            limiter: MemoryLimiter::new(permissions.memory_limit()),
            component: component.to_string(),
            mounts: permissions
                .dirs()
                .map(|(host, guest, _)| (guest.to_string(), host.to_path_buf()))
                .collect(),
            stdout,
            stderr,
            deadline: std::time::Instant::now(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Bounds what one call may copy from the guest into the host.
        store.set_hostcall_fuel(MAX_MESSAGE_BYTES);
        // Every tick, a running call yields to the executor (so a component never holds
        // a worker thread for long) and is interrupted once past its deadline.
        store.epoch_deadline_callback(|context| {
            if std::time::Instant::now() >= context.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        arm(&mut store, permissions.call_timeout());
        Ok(store)
    }
}

/// Sets the deadline of the next call.
pub(crate) fn arm(store: &mut Store<HostState>, timeout: Duration) {
    store.data_mut().deadline = std::time::Instant::now() + timeout;
    store.set_epoch_deadline(1);
}

/// A component's bytes and, once needed, its compiled form.
pub struct ComponentSource {
    name: String,
    bytes: Arc<[u8]>,
    compiled: tokio::sync::OnceCell<Component>,
}

impl ComponentSource {
    /// A component called `name` from its `.wasm` bytes.
    pub fn new(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Arc<ComponentSource> {
        Arc::new(ComponentSource {
            name: name.into(),
            bytes: bytes.into(),
            compiled: tokio::sync::OnceCell::new(),
        })
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `.wasm` size in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The compiled component (compiled once per process, off the async executor).
    pub async fn compiled(&self, engine: &'static WasmEngine) -> Result<Component, ConnectorError> {
        self.compiled
            .get_or_try_init(|| async {
                let bytes = self.bytes.clone();
                let started = std::time::Instant::now();
                let hits = engine.cache_hits();
                let component = tokio::task::spawn_blocking(move || engine.compile(&bytes))
                    .await
                    .map_err(|e| ConnectorError::internal(format!("compiling task failed: {e}")))?
                    .map_err(|e| {
                        ConnectorError::config(format!(
                            "`{}` is not a valid Wasm component: {e:#}",
                            self.name
                        ))
                    })?;
                let cached = engine.cache_hits() > hits;
                tracing::info!(
                    component = %self.name,
                    cache = %if cached { "hit" } else { "miss" },
                    millis = started.elapsed().as_millis() as u64,
                    "component loaded"
                );
                Ok(component)
            })
            .await
            .cloned()
    }
}
