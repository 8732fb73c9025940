# The edge module renders the edge gateways of one region: TLS front door
# for S3 clients, SigV4 authentication against the global catalog, and the
# HTTP/3 (QUIC, mutual TLS) link to every region's regional gateways.

terraform {
  required_version = ">= 1.6"
}

variable "region" {
  description = "The region this edge fleet runs in (home of buckets created without a LocationConstraint)."
  type        = string
}

variable "edges" {
  description = "Number of edge gateways in this region."
  type        = number
  default     = 2
  validation {
    condition     = var.edges >= 1 && floor(var.edges) == var.edges
    error_message = "edges must be a positive integer."
  }
}

variable "region_links" {
  description = "Every region's regional gateways' edge-link addresses (modules/region output edge_links), by region name."
  type        = map(list(string))
  validation {
    condition     = length(var.region_links) >= 1 && alltrue([for l in values(var.region_links) : length(l) >= 1])
    error_message = "region_links needs at least one region with at least one link address."
  }
}

variable "domains" {
  description = "S3 domains for virtual-hosted-style requests (bucket.<domain>)."
  type        = list(string)
  default     = ["s3.example.com"]
}

variable "catalog" {
  description = "Catalog access: postgres:// DSN (modules/catalog output dsn[region]) or embedded file, and the secret-sealing key file."
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

variable "address_mode" {
  description = "\"loopback\" (base_port + offsets on 127.0.0.1) or \"hosts\" (each edge on its own host, port 443)."
  type        = string
  default     = "hosts"
  validation {
    condition     = contains(["loopback", "hosts"], var.address_mode)
    error_message = "address_mode must be \"loopback\" or \"hosts\"."
  }
}

variable "base_port" {
  description = "loopback mode: edges listen on base_port+10.., metrics on base_port+690.."
  type        = number
  default     = 9000
}

variable "hosts" {
  description = "hosts mode: edge id (edge-1, …) -> host; others get <id>.<region>.<internal_domain>."
  type        = map(string)
  default     = {}
}

variable "internal_domain" {
  description = "hosts mode: DNS suffix of edge hosts."
  type        = string
  default     = "meridian.internal"
}

variable "paths" {
  description = "Binary, certificate folder and user on each edge host."
  type = object({
    binary = optional(string, "/usr/local/bin/meridian")
    certs  = optional(string, "/etc/meridian/certs")
    user   = optional(string, "meridian")
  })
  default = {}
}

variable "log_level" {
  type    = string
  default = "info"
}

locals {
  loopback = var.address_mode == "loopback"
  ids      = [for i in range(var.edges) : "edge-${i + 1}"]
  host     = { for id in local.ids : id => local.loopback ? "127.0.0.1" : lookup(var.hosts, id, "${id}.${var.region}.${var.internal_domain}") }
  port     = { for i, id in local.ids : id => local.loopback ? var.base_port + 10 + i : 443 }
  metrics  = { for i, id in local.ids : id => local.loopback ? var.base_port + 690 + i : 9600 }
  regions  = join(",", [for r in sort(keys(var.region_links)) : "${r}=${join("|", var.region_links[r])}"])
  catalog  = var.catalog.sql_dsn != "" ? ["--sql", var.catalog.sql_dsn, "--catalog-key", var.catalog.key_file] : ["--catalog", var.catalog.embedded, "--catalog-key", var.catalog.key_file]

  args = { for id in local.ids : id => concat([
    "edge", "--region", var.region,
    "--listen", "${local.loopback ? "127.0.0.1" : "0.0.0.0"}:${local.port[id]}",
    "--regions", local.regions,
    "--domain", join(",", var.domains),
    "--cert", "${var.paths.certs}/edge-server.pem", "--key", "${var.paths.certs}/edge-server-key.pem",
    "--client-cert", "${var.paths.certs}/edge-client.pem", "--client-key", "${var.paths.certs}/edge-client-key.pem",
    "--ca", "${var.paths.certs}/ca.pem",
    ], local.catalog, [
    "--metrics-listen", "${local.loopback ? "127.0.0.1" : "0.0.0.0"}:${local.metrics[id]}",
    "--log-level", var.log_level,
  ]) }
}

resource "terraform_data" "edges" {
  input = local.ids
  lifecycle {
    precondition {
      condition     = contains(keys(var.region_links), var.region)
      error_message = "the edge's own region must be in region_links (buckets created here live here)."
    }
  }
}

output "nodes" {
  description = "Edge id -> host, HTTPS address, metrics address, argument list, systemd unit."
  value = { for id in local.ids : id => {
    host     = local.host[id]
    address  = "${local.host[id]}:${local.port[id]}"
    endpoint = "https://${local.host[id]}:${local.port[id]}"
    metrics  = "${local.host[id]}:${local.metrics[id]}"
    args     = local.args[id]
    systemd_unit = templatefile("${path.module}/../region/templates/meridian.service.tftpl", {
      description = "Meridian edge ${id} (${var.region})"
      user        = var.paths.user
      binary      = var.paths.binary
      args        = local.args[id]
      data        = "/var/lib/meridian"
    })
  } }
}

output "addresses" {
  description = "The edges' HTTPS host:port, for the load balancer / anycast front door."
  value       = [for id in local.ids : "${local.host[id]}:${local.port[id]}"]
}
