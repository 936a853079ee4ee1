#!/bin/sh
# tag-on-main.sh TAG [MAIN_REF]: exit 0 when the commit TAG points at is on main, else explain and exit 1.
# Runs before publish-splits touches any token: a v* tag on a commit off main publishes nothing.
# MAIN_REF defaults to refs/remotes/origin/main (actions/checkout with fetch-depth: 0 fetches it).
set -eu
tag="${1:?usage: tag-on-main.sh TAG [MAIN_REF]}"
main_ref="${2:-refs/remotes/origin/main}"
fail() {
  echo "::error::$*"
  exit 1
}
commit="$(git rev-parse --verify --quiet "refs/tags/${tag}^{commit}")" || fail "Tag ${tag} does not exist here."
main="$(git rev-parse --verify --quiet "${main_ref}^{commit}")" || fail "${main_ref} is missing: check out with fetch-depth: 0."
git merge-base --is-ancestor "${commit}" "${main}" \
  || fail "Tag ${tag} points at ${commit}, which is not on main (${main}): tag a commit of main, nothing was published."
echo "Tag ${tag} (${commit}) is on main."
