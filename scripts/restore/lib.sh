# shellcheck shell=bash
# Shared by scripts/restore/restore.sh: argument checks, and the one place that either runs a command
# or, under --dry-run, prints it.
#
# Contract of --dry-run: nothing is changed and nothing is downloaded. Read-only look-ups that decide
# what the commands will be (a container's image, which bucket version holds the roles) still run;
# each is printed after "# looked up:". Every other command is printed exactly as it would run, one
# per line, quoted for a POSIX shell; a wait is printed after "# wait until:".

DRY_RUN=${DRY_RUN:-0}

die() {
  printf 'restore.sh: %s\n' "$*" >&2
  exit 2
}

# A word as a shell would need it: bare when it is plain, else single-quoted.
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# The command line for printing; a word REDACT names is shown as [secret of N chars].
command_line() {
  local word out=""
  for word in "$@"; do
    if [ -n "${REDACT:-}" ] && [ "$word" = "$REDACT" ]; then
      out+="[secret of ${#word} chars] "
    else
      out+="$(quote "$word") "
    fi
  done
  printf '%s\n' "${out% }"
}

# Runs a command that changes or downloads something, or prints it under --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    command_line "$@"
  else
    printf '+ %s\n' "$(command_line "$@")" >&2
    "$@"
  fi
}

# Runs a read-only look-up in both modes; under --dry-run it is also printed.
lookup() {
  # fd 3 is the script's stdout: a look-up's own output is usually captured by the caller.
  if [ "$DRY_RUN" = 1 ]; then printf '# looked up: %s\n' "$(command_line "$@")" >&3; fi
  "$@"
}

# wait_for SECONDS EXPECTED CMD...: runs CMD every 10 s (RESTORE_POLL_SECONDS) until its output is
# EXPECTED, failing after SECONDS. Printed, not run, under --dry-run.
wait_for() {
  local limit=$1 expected=$2 started got
  shift 2
  if [ "$DRY_RUN" = 1 ]; then
    printf '# wait until: %s prints %s\n' "$(command_line "$@")" "$expected"
    return 0
  fi
  started=$(date +%s)
  while true; do
    got=$("$@" 2>/dev/null || true)
    [ "$got" = "$expected" ] && return 0
    if [ $(($(date +%s) - started)) -ge "$limit" ]; then
      printf 'restore.sh: gave up after %s s waiting for %s to print %s (last: %s)\n' \
        "$limit" "$(command_line "$@")" "$expected" "${got:-nothing}" >&2
      return 1
    fi
    sleep "${RESTORE_POLL_SECONDS:-10}"
  done
}

# Checks that a value matches a pattern, naming the option, the value and what is allowed.
check() {
  local option=$1 value=$2 pattern=$3 allowed=$4
  [[ $value =~ $pattern ]] || die "$option: '$value' is not allowed; $allowed"
}

# Exactly one value given (the rest empty), or die naming the options.
one_of() {
  local names=$1 count=0 value
  shift
  for value in "$@"; do [ -n "$value" ] && count=$((count + 1)); done
  [ "$count" -eq 1 ] || die "$names: give exactly one"
}

require() {
  [ -n "$2" ] || die "$1 is required; see restore.sh $CASE --help"
}

# parse_options SPEC... -- ARG...: sets the calling case's variables from its options, one SPEC per
# option: "--name=var" takes a value, "--name+var" takes a value and may repeat (appended to the
# array var), "--name?var" is a flag (var=1). --help prints usage_<case> (CASE, with '-' as '_');
# any other option dies naming it. The variables are the caller's own: bash scopes them dynamically.
parse_options() {
  local -A _opt_value=() _opt_list=() _opt_flag=()
  local _opt_spec _opt_given
  while [ "$1" != -- ]; do
    _opt_spec=$1
    shift
    case "$_opt_spec" in
      *=*) _opt_value[${_opt_spec%%=*}]=${_opt_spec#*=} ;;
      *+*) _opt_list[${_opt_spec%%+*}]=${_opt_spec#*+} ;;
      *\?*) _opt_flag[${_opt_spec%%\?*}]=${_opt_spec#*\?} ;;
      *) die "parse_options: bad spec '$_opt_spec'" ;;
    esac
  done
  shift
  while [ $# -gt 0 ]; do
    if [ -n "${_opt_value[$1]:-}" ]; then
      # Assigned first: a value_of that dies must stop the script, not vanish in printf's status.
      _opt_given=$(value_of "$@")
      printf -v "${_opt_value[$1]}" '%s' "$_opt_given"
      shift 2
    elif [ -n "${_opt_list[$1]:-}" ]; then
      _opt_given=$(value_of "$@")
      local -n _opt_array=${_opt_list[$1]}
      _opt_array+=("$_opt_given")
      unset -n _opt_array
      shift 2
    elif [ -n "${_opt_flag[$1]:-}" ]; then
      printf -v "${_opt_flag[$1]}" 1
      shift
    elif [ "$1" = --help ]; then
      "usage_${CASE//-/_}"
      exit 0
    else
      die "$CASE: unknown option '$1'; see restore.sh $CASE --help"
    fi
  done
}

# The value after an option, or die when it is missing.
value_of() {
  if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#--}" != "$2" ]; then die "$1 needs a value"; fi
  printf '%s' "$2"
}

# A new private directory for downloads; under --dry-run only its name, nothing is created.
new_work_dir() {
  if [ "$DRY_RUN" = 1 ]; then mktemp -d -u; else mktemp -d; fi
}
