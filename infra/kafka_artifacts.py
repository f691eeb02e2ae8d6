"""The Apache Kafka broker's jars, resolved once from Maven Central and cached.

``mvn dependency:copy-dependencies`` on ``infra/maven/pom.xml`` fills
``<cache>/kafka-<version>/libs``; Maven's own downloads stay in
``<cache>/maven-repository``. A ``.complete`` marker is written last, so an
interrupted download is redone rather than used.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from infra.paths import INFRA_DIR
from infra.processes import StartupError

KAFKA_VERSION = "3.9.2"
POM = INFRA_DIR / "maven" / "pom.xml"
MARKER = ".complete"


def find_java() -> str:
    """The ``java`` to run Kafka with: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home, "bin", "java") if java_home else None
    if candidate is not None and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise StartupError(
            "java was not found (neither $JAVA_HOME/bin/java nor on PATH): Kafka needs a "
            "Java 17+ runtime, e.g. `apt-get install openjdk-17-jre-headless`"
        )
    return found


def kafka_libs(cache: Path) -> Path:
    """The directory of Kafka's jars, downloading them on first use."""
    home = cache / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    if (libs / MARKER).is_file():
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent run may be downloading
        if not (libs / MARKER).is_file():
            _resolve(cache, libs)
    return libs


def _resolve(cache: Path, libs: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StartupError(
            "mvn was not found on PATH: Maven resolves the Kafka jars from Maven Central "
            "the first time (`apt-get install maven`)"
        )
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(libs, ignore_errors=True)
    print(
        f"infra: fetching Apache Kafka {KAFKA_VERSION} from Maven Central into {libs}",
        file=sys.stderr,
    )
    command = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(POM),
        f"-Dmaven.repo.local={cache / 'maven-repository'}",
        f"-Dkafka.version={KAFKA_VERSION}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    jars = sorted(p.name for p in partial.glob("*.jar"))
    if result.returncode != 0 or not any(j.startswith("kafka_2.13-") for j in jars):
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise StartupError(f"Maven could not resolve the Kafka jars (exit {result.returncode})")
    (partial / MARKER).write_text("\n".join(jars) + "\n")
    partial.rename(libs)
