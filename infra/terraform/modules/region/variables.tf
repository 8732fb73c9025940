variable "region" {
  description = "Region name (lower-case letters, digits and '-'), e.g. us-east-1."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.region))
    error_message = "region must be 3-32 characters of lower-case letters, digits and '-', starting with a letter."
  }
}

variable "azs" {
  description = "Availability zones of the region, in order. Meta nodes go to the first meta_nodes AZs; storage nodes to every AZ."
  type        = list(string)
  validation {
    condition     = length(var.azs) >= 3 && length(distinct(var.azs)) == length(var.azs)
    error_message = "azs: at least 3 distinct availability zones are required (one metadata replica per AZ)."
  }
}

variable "meta_nodes" {
  description = "Metadata nodes (Raft voters), one per AZ: 3 or 5."
  type        = number
  default     = 3
  validation {
    condition     = contains([3, 5], var.meta_nodes)
    error_message = "meta_nodes must be 3 or 5 (an odd Raft group, one replica per AZ)."
  }
}

variable "storage_per_az" {
  description = "Storage nodes in each AZ."
  type        = number
  default     = 4
  validation {
    condition     = var.storage_per_az >= 1 && var.storage_per_az <= 64 && floor(var.storage_per_az) == var.storage_per_az
    error_message = "storage_per_az must be an integer in 1..64."
  }
}

variable "gateways" {
  description = "Regional S3 gateways (stateless)."
  type        = number
  default     = 2
  validation {
    condition     = var.gateways >= 1 && floor(var.gateways) == var.gateways
    error_message = "gateways must be a positive integer."
  }
}

variable "background" {
  description = "Background servers (janitor, scrubber, replicator); partitions are leased among them."
  type        = number
  default     = 2
  validation {
    condition     = var.background >= 1 && floor(var.background) == var.background
    error_message = "background must be a positive integer."
  }
}

variable "erasure" {
  description = "Erasure scheme data+parity. Meridian implements 10+4."
  type        = string
  default     = "10+4"
  validation {
    condition     = var.erasure == "10+4"
    error_message = "erasure: only \"10+4\" is implemented."
  }
}

variable "partitions" {
  description = "Metadata partitions (hash-partitioned Raft groups). Fixed when the region is created: changing it later would re-hash every key."
  type        = number
  default     = 8
  validation {
    condition     = var.partitions >= 1 && var.partitions <= 1024 && floor(var.partitions) == var.partitions
    error_message = "partitions must be an integer in 1..1024."
  }
}

variable "acknowledge_no_az_loss_tolerance" {
  description = "Set true to deploy on fewer than 4 AZs: with 10+4 shards and at most 4 shards per AZ, losing a whole AZ then loses data availability."
  type        = bool
  default     = false
}

variable "capacity" {
  description = "Capacity each storage node advertises (e.g. 4TiB)."
  type        = string
  default     = "100GiB"
  validation {
    condition     = can(regex("^[0-9]+(B|KiB|MiB|GiB|TiB)?$", var.capacity))
    error_message = "capacity must be a byte count with an optional KiB/MiB/GiB/TiB suffix."
  }
}

variable "address_mode" {
  description = "\"loopback\": every node on one host at base_port + fixed offsets (examples/local). \"hosts\": every node on its own host (from var.hosts) at the role's standard port."
  type        = string
  default     = "hosts"
  validation {
    condition     = contains(["loopback", "hosts"], var.address_mode)
    error_message = "address_mode must be \"loopback\" or \"hosts\"."
  }
}

variable "base_port" {
  description = "loopback mode: first port of the region (gateways +0.., edge links +50.., meta +100.., storage +200.., metrics +600..)."
  type        = number
  default     = 9000
  validation {
    condition     = var.base_port >= 1024 && var.base_port <= 64000
    error_message = "base_port must be in 1024..64000 (the region uses the next 1000 ports)."
  }
}

variable "hosts" {
  description = "hosts mode: node id -> host name or IP (ids: meta-a, storage-a1, gateway-1, background-1, …). Missing ids get <id>.<region>.<domain>."
  type        = map(string)
  default     = {}
}

variable "domain" {
  description = "hosts mode: DNS suffix for nodes not listed in var.hosts."
  type        = string
  default     = "meridian.internal"
}

variable "paths" {
  description = "Where rendered configurations expect files on each node."
  type = object({
    binary = optional(string, "/usr/local/bin/meridian")
    data   = optional(string, "/var/lib/meridian")
    certs  = optional(string, "/etc/meridian/certs")
    user   = optional(string, "meridian")
  })
  default = {}
}

variable "catalog" {
  description = "How gateways reach the bucket catalog: a postgres:// DSN of the CockroachDB cluster (modules/catalog output), or an embedded catalog file (single-process dev only)."
  type = object({
    sql_dsn  = optional(string, "")
    embedded = optional(string, "")
    key_file = string
  })
  validation {
    condition     = (var.catalog.sql_dsn == "") != (var.catalog.embedded == "")
    error_message = "catalog: set exactly one of sql_dsn or embedded."
  }
}

variable "log_level" {
  description = "Log level of every node."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "replication_links" {
  description = "Every region's regional gateways' edge links (region -> [host:port], the regions' edge_links outputs, this region's included) for the background servers' replicator. Empty: no cross-region replication from this region. A composition that builds several regions with one module block passes them by re-rendering (see examples/local), since a module cannot read its own instances' outputs."
  type        = map(list(string))
  default     = {}
  validation {
    condition     = alltrue([for r, l in var.replication_links : length(l) > 0 && alltrue([for a in l : can(regex("^[^:|,=]+:[0-9]+$", a))])])
    error_message = "replication_links: every region needs at least one host:port."
  }
}
