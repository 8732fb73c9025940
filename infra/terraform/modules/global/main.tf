# The global module composes the front door: one S3 hostname announced by an
# anycast accelerator in front of every region's edge fleet. It renders,
# provider-neutrally, what the composition must create: the hostname's DNS
# records (apex and the virtual-hosted wildcard), one endpoint group per
# region with its edges and health check, and the client-facing settings.

terraform {
  required_version = ">= 1.6"
}

variable "s3_hostname" {
  description = "The one S3 hostname clients use (also the virtual-hosted-style domain: <bucket>.<hostname>)."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.s3_hostname))
    error_message = "s3_hostname must be a DNS name such as s3.example.com."
  }
}

variable "edge_fleets" {
  description = "Region -> the edges' HTTPS host:port (modules/edge output addresses)."
  type        = map(list(string))
  validation {
    condition     = length(var.edge_fleets) >= 1 && alltrue([for a in values(var.edge_fleets) : length(a) >= 1])
    error_message = "edge_fleets needs at least one region with at least one edge."
  }
}

variable "anycast_ips" {
  description = "The accelerator's static anycast addresses (known after the composition creates it; empty in plans)."
  type        = list(string)
  default     = []
}

variable "traffic_dial" {
  description = "Region -> percentage of the traffic arriving near it that its edges take (0 drains a region's edges)."
  type        = map(number)
  default     = {}
  validation {
    condition     = alltrue([for v in values(var.traffic_dial) : v >= 0 && v <= 100])
    error_message = "traffic_dial values are percentages 0..100."
  }
}

locals {
  regions = sort(keys(var.edge_fleets))
  endpoint_groups = { for r in local.regions : r => {
    endpoints    = var.edge_fleets[r]
    traffic_dial = lookup(var.traffic_dial, r, 100)
    health_check = { protocol = "HTTP", path = "/readyz", port = 9600, interval_seconds = 10, threshold = 3 } # the edges' metrics listener
  } }
  dns = concat(
    [for ip in var.anycast_ips : { name = var.s3_hostname, type = "A", value = ip }],
    [for ip in var.anycast_ips : { name = "*.${var.s3_hostname}", type = "A", value = ip }],
  )
}

resource "terraform_data" "front_door" {
  input = { hostname = var.s3_hostname, regions = local.regions }
  lifecycle {
    precondition {
      condition     = alltrue([for r in keys(var.traffic_dial) : contains(local.regions, r)])
      error_message = "traffic_dial names a region with no edge fleet."
    }
    precondition {
      condition     = anytrue([for r in local.regions : lookup(var.traffic_dial, r, 100) > 0])
      error_message = "at least one region must take traffic (every traffic_dial is 0)."
    }
  }
}

output "s3_endpoint" {
  description = "The S3 endpoint URL clients use."
  value       = "https://${var.s3_hostname}"
}

output "endpoint_groups" {
  description = "Region -> edges, traffic dial and health check, for the accelerator's endpoint groups."
  value       = local.endpoint_groups
}

output "dns_records" {
  description = "DNS records to create: the hostname and its wildcard (virtual-hosted-style buckets) on the anycast addresses."
  value       = local.dns
}

output "tls_names" {
  description = "Names the edges' server certificate must cover."
  value       = [var.s3_hostname, "*.${var.s3_hostname}"]
}
