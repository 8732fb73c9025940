# The catalog module renders a multi-region CockroachDB topology for the
# global bucket service: the nodes of each region (one per AZ, or more),
# their start commands with locality and join list, the SQL that makes the
# database multi-region with the chosen survival goal, and the DSN each
# region's gateways and edges use (nearest nodes first). The catalog tables
# (accounts, access_keys, buckets) are made GLOBAL by Meridian itself when it
# opens a CockroachDB catalog (bucketsvc/sqlstore); the statements are also
# rendered here so an operator can review them.

terraform {
  required_version = ">= 1.6"
}

variable "regions" {
  description = "Region name -> its AZs and CockroachDB nodes per AZ. The first region (by name order unless primary_region is set) is primary."
  type = map(object({
    azs          = list(string)
    nodes_per_az = optional(number, 1)
  }))
  validation {
    condition     = length(var.regions) >= 1 && alltrue([for r in values(var.regions) : length(r.azs) >= 3])
    error_message = "every catalog region needs at least 3 AZs (CockroachDB replicates each range 3 ways, one per AZ)."
  }
}

variable "primary_region" {
  description = "The database's primary region (default: first by name)."
  type        = string
  default     = ""
}

variable "survival_goal" {
  description = "\"zone\" (survive an AZ loss; writes stay in-region fast) or \"region\" (survive a whole region; needs >= 3 regions)."
  type        = string
  default     = "zone"
  validation {
    condition     = contains(["zone", "region"], var.survival_goal)
    error_message = "survival_goal must be \"zone\" or \"region\"."
  }
}

variable "database" {
  description = "Database name."
  type        = string
  default     = "meridian"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database))
    error_message = "database must be a lower-case SQL identifier."
  }
}

variable "domain" {
  description = "DNS suffix of the CockroachDB nodes: <node>.<region>.<domain>."
  type        = string
  default     = "crdb.meridian.internal"
}

variable "user" {
  description = "SQL user Meridian connects as (client certificate authentication)."
  type        = string
  default     = "meridian"
}

locals {
  region_names = sort(keys(var.regions))
  primary      = var.primary_region != "" ? var.primary_region : local.region_names[0]
  ordered      = concat([local.primary], [for r in local.region_names : r if r != local.primary])

  nodes = merge([for r in local.region_names : {
    for pair in flatten([for a, az in var.regions[r].azs : [for n in range(var.regions[r].nodes_per_az) : { az = az, n = n, a = a }]]) :
    "${r}/crdb-${pair.a}-${pair.n + 1}" => {
      region = r
      az     = pair.az
      host   = "crdb-${pair.a}-${pair.n + 1}.${r}.${var.domain}"
    }
  }]...)

  join = join(",", [for r in local.region_names : join(",", slice([for id, n in local.nodes : "${n.host}:26257" if n.region == r], 0, min(3, length([for id, n in local.nodes : id if n.region == r]))))])

  start = { for id, n in local.nodes : id => join(" ", [
    "cockroach start",
    "--certs-dir=/etc/cockroach/certs",
    "--advertise-addr=${n.host}:26257",
    "--locality=region=${n.region},zone=${n.az}",
    "--join=${local.join}",
    "--cache=.25 --max-sql-memory=.25",
  ]) }

  sql = concat(
    [
      "CREATE DATABASE IF NOT EXISTS ${var.database} PRIMARY REGION \"${local.primary}\"${length(local.ordered) > 1 ? " REGIONS ${join(", ", [for r in slice(local.ordered, 1, length(local.ordered)) : "\"${r}\""])}" : ""}",
      "ALTER DATABASE ${var.database} SURVIVE ${upper(var.survival_goal)} FAILURE",
      "CREATE USER IF NOT EXISTS ${var.user}",
      "GRANT ALL ON DATABASE ${var.database} TO ${var.user}",
    ],
    [for t in ["accounts", "access_keys", "buckets"] : "ALTER TABLE ${var.database}.${t} SET LOCALITY GLOBAL -- applied by Meridian at open, after its migrations"],
  )

  dsn = { for r in local.region_names : r => format("postgres://%s@%s/%s?sslmode=verify-full&sslrootcert=/etc/meridian/crdb/ca.crt&sslcert=/etc/meridian/crdb/client.%s.crt&sslkey=/etc/meridian/crdb/client.%s.key",
    var.user, join(",", [for id, n in local.nodes : "${n.host}:26257" if n.region == r]), var.database, var.user, var.user)
  }
}

resource "terraform_data" "topology" {
  input = { primary = local.primary, survival = var.survival_goal, regions = local.region_names }
  lifecycle {
    precondition {
      condition     = var.survival_goal != "region" || length(var.regions) >= 3
      error_message = "survival_goal \"region\" needs at least 3 regions (a majority must survive the loss of one)."
    }
    precondition {
      condition     = contains(local.region_names, local.primary)
      error_message = "primary_region must be one of the regions."
    }
  }
}

output "nodes" {
  description = "CockroachDB node id -> region, AZ, host."
  value       = local.nodes
}

output "start_commands" {
  description = "Node id -> the `cockroach start` command line."
  value       = local.start
}

output "init_sql" {
  description = "SQL run once after `cockroach init`: database, regions, survival goal, user."
  value       = local.sql
}

output "dsn" {
  description = "Region -> postgres:// DSN for that region's gateways and edges (its own nodes, so reads of GLOBAL tables stay local)."
  value       = local.dsn
}

output "primary_region" {
  description = "The database's primary region."
  value       = local.primary
}
