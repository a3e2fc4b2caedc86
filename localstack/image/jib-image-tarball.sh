#!/bin/bash
# Stand-in for the `docker` CLI that lets Quarkus' Jib integration write the worker image as a tarball
# without a Docker daemon (merge-engine/worker/pom.xml, profile `image`).
#
# Quarkus 3.33's Jib support can only push an image to a registry or hand it to `<docker> load` on
# stdin; it has no tarball target of its own. The profile names this script as the docker executable
# (quarkus.jib.docker-executable-name), so `load` receives the finished image in `docker save` format
# and writes it to $JIB_IMAGE_TARBALL (quarkus.jib.docker-environment.*). Load it into any
# Docker later with `docker load -i <tarball>`, or push it with skopeo/crane.
#
# Emulated: `load` (the image) and `info` (the platform Jib builds for: this machine's). Anything else
# (e.g. a `docker://` base image, which Jib reads with `docker save`) needs the real Docker CLI.
set -euo pipefail

case "${1:-}" in
  load)
    out="${JIB_IMAGE_TARBALL:?JIB_IMAGE_TARBALL must name the tarball to write}"
    mkdir -p "$(dirname "$out")"
    cat > "$out.partial"
    mv -f "$out.partial" "$out"
    echo "Wrote image tarball $out (docker load -i $out)"
    ;;
  info)
    # `docker info -f '{{json .}}'`: Jib reads OSType and Architecture (x86_64, aarch64, ...).
    printf '{"OSType":"linux","Architecture":"%s"}\n' "$(uname -m)"
    ;;
  *)
    echo "jib-image-tarball.sh: 'docker $*' needs a real Docker CLI and daemon;" \
      "this stand-in only writes images to a tarball ('load') and answers 'info'." >&2
    exit 1
    ;;
esac
