#!/usr/bin/env bash
# Applies examples/local (two regions x four AZs, every node a process on
# loopback), checks it serves S3 through both edges with the aws CLI, and
# destroys it — also when a check fails. Ports: MERIDIAN_TF_BASE_PORT
# (default 62000, above the ephemeral range; region i uses +1000*i, the catalog base-1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
bin=${MERIDIAN_BIN:-$repo/bin/meridian}
base=${MERIDIAN_TF_BASE_PORT:-62000}
[ -x "$bin" ] || { echo "apply.sh: $bin not built (make build)" >&2; exit 1; }
command -v aws >/dev/null || { echo "apply.sh: the aws CLI is needed" >&2; exit 1; }
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1
work=$(mktemp -d)
export TF_DATA_DIR=$work/tf
ex="$here/../examples/local"
vars=(-var "meridian_bin=$bin" -var "state_dir=$work/deployment" -var "base_port=$base")
tf() { local cmd=$1; shift; terraform -chdir="$ex" "$cmd" -no-color -state="$work/terraform.tfstate" "$@"; }
cleanup() {
	rc=$?
	set +e
	if [ $rc -ne 0 ] && [ -d "$work/deployment/logs" ]; then
		for f in "$work"/deployment/logs/*/*.log "$work"/deployment/logs/*.log; do
			[ -s "$f" ] && { echo "---- $f"; tail -5 "$f"; }
		done 2>/dev/null | tail -80
	fi
	tf destroy -input=false -auto-approve -parallelism=20 "${vars[@]}" >"$work/destroy.log" 2>&1 || { echo "apply.sh: destroy failed" >&2; tail -20 "$work/destroy.log" >&2; rc=1; }
	if pgrep -f "$work/deployment" >/dev/null; then
		echo "apply.sh: processes left after destroy:" >&2; pgrep -af "$work/deployment" >&2
		pkill -KILL -f "$work/deployment"
		rc=1
	fi
	"$ex/scripts/postgres.sh" stop "$work/deployment/postgres" >/dev/null 2>&1
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
terraform -chdir="$ex" init -backend=false -input=false -no-color >/dev/null
start=$SECONDS
tf apply -input=false -auto-approve -parallelism=20 "${vars[@]}" >"$work/apply.log" || { cat "$work/apply.log"; exit 1; }
echo "applied examples/local in $((SECONDS - start)) s"
# shellcheck disable=SC1090
. "$(tf output -raw dev_env)"
e1=$(tf output -json edge_endpoints | sed -n 's/.*"us-east-1": *"\([^"]*\)".*/\1/p')
e2=$(tf output -json edge_endpoints | sed -n 's/.*"eu-west-1": *"\([^"]*\)".*/\1/p')
[ -n "$e1" ] && [ -n "$e2" ] || { echo "no edge endpoints"; exit 1; }
bucket=tf-local-$RANDOM
head -c 3000000 /dev/urandom >"$work/obj"
set -x
# A bucket homed in the second region, created through the first region's edge.
aws --endpoint-url "$e1" s3api create-bucket --bucket "$bucket" --create-bucket-configuration LocationConstraint=eu-west-1 >/dev/null
[ "$(aws --endpoint-url "$e2" s3api get-bucket-location --bucket "$bucket" --query LocationConstraint --output text)" = eu-west-1 ]
# Written through one edge, read through the other.
aws --endpoint-url "$e1" s3 cp "$work/obj" "s3://$bucket/obj" >/dev/null
aws --endpoint-url "$e2" s3 cp "s3://$bucket/obj" "$work/back" >/dev/null
cmp "$work/obj" "$work/back"
aws --endpoint-url "$e2" s3 cp "$work/obj" "s3://$bucket/dir/two" >/dev/null
[ "$(aws --endpoint-url "$e1" s3api list-objects-v2 --bucket "$bucket" --query 'length(Contents)' --output text)" = 2 ]
# A bucket homed in the first region (an edge homes a bucket created without
# a LocationConstraint in its own region), used through the second edge.
aws --endpoint-url "$e1" s3api create-bucket --bucket "$bucket-us" >/dev/null
[ "$(aws --endpoint-url "$e1" s3api get-bucket-location --bucket "$bucket-us" --query LocationConstraint --output text)" = None ]
echo small | aws --endpoint-url "$e2" s3 cp - "s3://$bucket-us/small" >/dev/null
[ "$(aws --endpoint-url "$e1" s3 cp "s3://$bucket-us/small" -)" = small ]
# A replication rule from the first region's bucket to the second's: an
# object written after it appears in the destination region (the
# replicator of region one copies it over the inter-region link), marked
# COMPLETED at the source and REPLICA at the destination.
aws --endpoint-url "$e1" s3api put-bucket-versioning --bucket "$bucket-us" --versioning-configuration Status=Enabled
aws --endpoint-url "$e2" s3api put-bucket-versioning --bucket "$bucket" --versioning-configuration Status=Enabled
aws --endpoint-url "$e2" s3api put-bucket-replication --bucket "$bucket-us" --replication-configuration \
	'{"Role":"arn:aws:iam::1:role/r","Rules":[{"ID":"to-eu","Priority":1,"Status":"Enabled","Filter":{"Prefix":"repl/"},"DeleteMarkerReplication":{"Status":"Enabled"},"Destination":{"Bucket":"arn:aws:s3:::'"$bucket"'"}}]}'
[ "$(aws --endpoint-url "$e1" s3api get-bucket-replication --bucket "$bucket-us" --query 'ReplicationConfiguration.Rules[0].Destination.Bucket' --output text)" = "arn:aws:s3:::$bucket" ]
aws --endpoint-url "$e1" s3 cp "$work/obj" "s3://$bucket-us/repl/obj" >/dev/null
set +x
replicated=
for _ in $(seq 60); do
	if [ "$(aws --endpoint-url "$e2" s3api head-object --bucket "$bucket" --key repl/obj --query ReplicationStatus --output text 2>/dev/null)" = REPLICA ]; then
		replicated=1
		break
	fi
	sleep 0.5
done
[ -n "$replicated" ] || { echo "apply.sh: repl/obj did not reach $bucket in eu-west-1 within 30 s"; exit 1; }
set -x
aws --endpoint-url "$e2" s3 cp "s3://$bucket/repl/obj" "$work/replica" >/dev/null
cmp "$work/obj" "$work/replica"
[ "$(aws --endpoint-url "$e1" s3api head-object --bucket "$bucket-us" --key repl/obj --query ReplicationStatus --output text)" = COMPLETED ]
# The operator's view: `meridian status` (dev.env names both regions) shows
# the source bucket caught up, with the lag of its copies.
set +x
shown=
for _ in $(seq 30); do
	if "$bin" status 2>/dev/null | grep -E "^ +$bucket-us → $bucket: caught up; [1-9][0-9]* copied; lag of the last" >"$work/status.txt"; then
		shown=1
		break
	fi
	sleep 0.5
done
[ -n "$shown" ] || { echo "apply.sh: meridian status shows no caught-up line for $bucket-us"; "$bin" status; exit 1; }
cat "$work/status.txt"
set -x
aws --endpoint-url "$e1" s3api delete-bucket-replication --bucket "$bucket-us"
aws --endpoint-url "$e1" s3api delete-object --bucket "$bucket-us" --key small >/dev/null
set +x
echo "examples/local serves S3 through both edges"
