#!/usr/bin/env bash
# Installs a software Vulkan (Mesa's lavapipe) that Dawn accepts, so the WebGPU tests run on a
# machine without a GPU. Debian 12's own Mesa 22.3 is refused by Dawn (no
# shaderUniform*ArrayDynamicIndexing); Mesa 25 from bookworm-backports works. The backports
# source takes its URIs line from the machine's existing Debian source, so no mirror is named here.
# Idempotent: does nothing when lavapipe is already there.
set -euo pipefail
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

icd=/usr/share/vulkan/icd.d/lvp_icd.json
installed_mesa() { dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
case "$(installed_mesa)" in
  2[5-9].*|[3-9][0-9].*) [ -f "$icd" ] && [ -n "$(dpkg-query -W -f '${Version}' libvulkan1 2>/dev/null || true)" ] && exit 0 ;;
esac

. /etc/os-release
if [ "${VERSION_CODENAME:-}" != "bookworm" ]; then
  # Other releases: their own Mesa (newer Debian and Ubuntu ship Mesa >= 24).
  $sudo_cmd apt-get update
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1
  exit 0
fi

backports=/etc/apt/sources.list.d/was-lab-backports.sources
if [ ! -f "$backports" ]; then
  uris=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 || true)
  if [ -z "$uris" ]; then
    uris="URIs: $(grep -hE '^deb .* bookworm main' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1)"
  fi
  if [ "$uris" = "URIs: " ]; then echo "software-vulkan: no Debian source found to take a mirror from" >&2; exit 1; fi
  printf 'Types: deb\n%s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uris" \
    | $sudo_cmd tee "$backports" >/dev/null
fi
$sudo_cmd apt-get update
$sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libvulkan1
$sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports --no-install-recommends mesa-vulkan-drivers
test -f "$icd" || { echo "software-vulkan: $icd missing after install" >&2; exit 1; }
echo "software-vulkan: mesa-vulkan-drivers $(installed_mesa)"
