"""fsctl's own Spark session: derived from the user's, never changing it.

Where the session comes from (``offline_store`` in fsctl.yaml):

* ``remote: sc://host:15002`` — Spark Connect: a client session to that server;
* ``master: null`` — the ambient session: the active one (a notebook, spark-submit, a
  Databricks job) or whatever ``SparkSession.builder.getOrCreate()`` gives (which honours
  ``SPARK_REMOTE``);
* ``master: local[2]`` (the default), ``spark://...``, ``yarn`` — a session on that master,
  started with ``conf`` when no Spark context runs in this process yet.

fsctl then always works on ``base.newSession()`` (for Spark Connect, a client session it
creates itself with ``builder.remote(url).create()``, which also works in a process that
runs a classic session, and stops again on close): its
own SQL configuration (``spark.sql.session.timeZone=UTC`` and the runtime settings of
``conf``) and temporary views, sharing the Spark context and cache. The user's session keeps
its time zone and settings. A Spark context fsctl started itself is stopped again by
:meth:`SparkHandle.close`; one it found running is left alone.

pyspark is imported here, lazily; a missing package names the ``spark`` extra, a missing
``java`` (for a local master) says to install a JRE 17+. The JVM's log is quiet (warnings
and errors only, no banner or progress bars) when fsctl starts it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsctl.errors import StoreError, UsageError
from fsctl.offline.spark.sources import NANOS_AS_LONG

if TYPE_CHECKING:
    from fsctl.offline.spark import SparkEngineConfig

# Settings of the Spark context (JVM-wide): only applied when fsctl starts it.
_QUIET = {"spark.ui.showConsoleProgress": "false", "spark.ui.enabled": "false"}
_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
"""


@dataclass
class SparkHandle:
    """fsctl's session and whether fsctl started the Spark context under it."""

    session: Any
    owns_context: bool = False
    owns_session: bool = False  # a Spark Connect client session fsctl created

    def close(self) -> None:
        if self.owns_session:
            try:
                self.session.stop()
            except Exception:  # noqa: BLE001 - the server may be gone already
                pass
        if self.owns_context:
            try:
                self.session.sparkContext.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort at exit
                pass


def _import_pyspark() -> Any:
    import warnings

    # pyspark warns about the pandas version when it first converts; fsctl converts through arrow.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError(
            "offline_store type 'spark' needs the pyspark package, which is not installed",
            hint="install fsctl with the spark extra: pip install 'fsctl[spark]'",
        ) from None
    return SparkSession


def _need_java(master: str) -> None:
    home = os.environ.get("JAVA_HOME")
    if shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()):
        return
    raise UsageError(
        f"the spark engine (master {master}) needs Java, and no 'java' command was found",
        hint="install a Java runtime 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) "
        "or set JAVA_HOME; or use remote: sc://host:15002 (Spark Connect), which needs no Java here",
    )


def _log4j_file() -> str:
    path = Path(tempfile.gettempdir()) / "fsctl-spark-log4j2.properties"
    if not path.is_file() or path.read_text() != _LOG4J:
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        tmp.write_text(_LOG4J)
        tmp.replace(path)
    return str(path)


def _fresh(base: Any, config: SparkEngineConfig) -> Any:
    """fsctl's own session on top of ``base``: time zone UTC and the runtime settings of conf."""
    session = base.newSession()
    _configure(session, config)
    return session


def _configure(session: Any, config: SparkEngineConfig) -> None:
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set(NANOS_AS_LONG, "true")  # see sources: nanosecond parquet timestamps
    for key, value in config.conf.items():
        try:
            session.conf.set(key, value)
        except Exception:  # noqa: BLE001 - a static (context-wide) setting: applied at start only
            pass


def _start_error(what: str, exc: BaseException) -> StoreError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return StoreError(
        f"cannot start the spark engine ({what}): {first}",
        hint="check offline_store in fsctl.yaml (master, remote, conf) and that Java 17+ is installed",
    )


def open_session(config: SparkEngineConfig, given: Any = None) -> SparkHandle:
    """fsctl's session for ``config`` (or derived from the session ``given``, e.g. by tests)."""
    spark_session = _import_pyspark()
    if given is not None:
        return SparkHandle(_fresh(given, config))
    if config.remote:
        from pyspark import SparkContext

        if SparkContext._active_spark_context is not None:
            raise UsageError(
                f"offline_store.remote {config.remote}: this Python process already runs a classic "
                "Spark session, and pyspark cannot use Spark Connect beside it",
                hint="use master: null (the running session) here, or Spark Connect from a separate process",
            )
        os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"  # pyspark's functions then build Connect columns
        try:
            # A client session of fsctl's own (create(), not getOrCreate(): never the user's
            # default remote session), configured like a newSession.
            from pyspark.sql.connect.session import SparkSession as RemoteSession

            own = RemoteSession.builder.remote(config.remote).create()
            _configure(own, config)
            return SparkHandle(own, owns_session=True)
        except Exception as exc:  # noqa: BLE001 - every failure to connect is one message
            raise _start_error(f"Spark Connect at {config.remote}", exc) from None
    if config.master is None:
        base = spark_session.getActiveSession()
        try:
            if base is None:
                base = spark_session.builder.getOrCreate()
            return SparkHandle(_fresh(base, config))
        except Exception as exc:  # noqa: BLE001
            raise _start_error("the ambient session", exc) from None
    running = spark_session.getActiveSession()
    if running is not None:  # a context runs in this process already: share it
        return SparkHandle(_fresh(running, config))
    _need_java(config.master)
    builder = spark_session.builder.master(config.master).appName("fsctl")
    settings = {**_QUIET, **config.conf}
    java_options = f"-Dlog4j2.configurationFile=file:{_log4j_file()}"
    settings["spark.driver.extraJavaOptions"] = (
        settings.get("spark.driver.extraJavaOptions", "") + " " + java_options
    ).strip()
    settings.setdefault("spark.sql.session.timeZone", "UTC")
    if config.master.startswith("local"):  # Python workers (writing results) run this interpreter
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        base = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001
        raise _start_error(f"master {config.master}", exc) from None
    base.sparkContext.setLogLevel("ERROR")
    return SparkHandle(_fresh(base, config), owns_context=True)
