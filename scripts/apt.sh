# apt_install PACKAGE...: install Debian packages, as root or with sudo. Sourced by setup.sh and postgres.sh.
apt_install() {
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
