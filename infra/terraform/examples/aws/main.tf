# examples/aws: the production composition on AWS — two regions, each with
# instances across four AZs (3 metadata, 16 storage, gateways, background
# servers, edges), a network load balancer in front of the edges, a
# CockroachDB cluster per region joined into one multi-region catalog, and a
# Global Accelerator (anycast) as the one S3 hostname.
#
# The AWS provider cannot be downloaded in Meridian's CI, so this example is
# kept `terraform fmt`-clean and reviewed; the per-node configurations it
# deploys come from the provider-neutral modules, which `terraform test`
# checks (infra/terraform/README.md lists what this example cannot prove).

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }
}

variable "primary_region" {
  description = "First region (CockroachDB primary region)."
  type        = string
  default     = "us-east-1"
}

variable "secondary_region" {
  description = "Second region."
  type        = string
  default     = "eu-west-1"
}

variable "s3_hostname" {
  description = "The S3 hostname clients use (a Route 53 public zone for it must exist)."
  type        = string
}

variable "public_zone_id" {
  description = "Route 53 public hosted zone of s3_hostname."
  type        = string
}

variable "ami_id" {
  description = "Per region: an AMI with /usr/local/bin/meridian and cockroach installed (built by the release pipeline)."
  type        = map(string)
}

variable "instance_types" {
  description = "Instance type per role."
  type        = map(string)
  default = {
    meta       = "m7i.large"
    storage    = "i4i.2xlarge"
    gateway    = "c7i.2xlarge"
    background = "m7i.large"
    edge       = "c7i.2xlarge"
    crdb       = "m7i.xlarge"
  }
}

provider "aws" {
  alias  = "primary"
  region = var.primary_region
}

provider "aws" {
  alias  = "secondary"
  region = var.secondary_region
}

provider "aws" {
  alias  = "global"
  region = "us-west-2" # Global Accelerator's API lives in us-west-2
}

data "aws_availability_zones" "primary" {
  provider = aws.primary
  state    = "available"
}

data "aws_availability_zones" "secondary" {
  provider = aws.secondary
  state    = "available"
}

locals {
  azs = {
    (var.primary_region)   = slice(data.aws_availability_zones.primary.names, 0, 4)
    (var.secondary_region) = slice(data.aws_availability_zones.secondary.names, 0, 4)
  }
  internal_domain = "meridian.internal"
}

module "catalog" {
  source = "../../modules/catalog"
  regions = {
    (var.primary_region)   = { azs = slice(local.azs[var.primary_region], 0, 3) }
    (var.secondary_region) = { azs = slice(local.azs[var.secondary_region], 0, 3) }
  }
  primary_region = var.primary_region
  survival_goal  = "zone"
  domain         = "crdb.${local.internal_domain}"
}

module "region_primary" {
  source            = "../../modules/region"
  region            = var.primary_region
  azs               = local.azs[var.primary_region]
  storage_per_az    = 4
  gateways          = 2
  background        = 2
  partitions        = 16
  capacity          = "1600GiB"
  domain            = local.internal_domain
  catalog           = { sql_dsn = module.catalog.dsn[var.primary_region], key_file = "/etc/meridian/catalog.key" }
  replication_links = local.region_links # the replicator's view of every region
}

module "region_secondary" {
  source            = "../../modules/region"
  region            = var.secondary_region
  azs               = local.azs[var.secondary_region]
  storage_per_az    = 4
  gateways          = 2
  background        = 2
  partitions        = 16
  capacity          = "1600GiB"
  domain            = local.internal_domain
  catalog           = { sql_dsn = module.catalog.dsn[var.secondary_region], key_file = "/etc/meridian/catalog.key" }
  replication_links = local.region_links # the replicator's view of every region
}

locals {
  region_links = {
    (var.primary_region)   = module.region_primary.edge_links
    (var.secondary_region) = module.region_secondary.edge_links
  }
}

module "edge_primary" {
  source          = "../../modules/edge"
  region          = var.primary_region
  edges           = 2
  region_links    = local.region_links
  domains         = [var.s3_hostname]
  internal_domain = local.internal_domain
  catalog         = { sql_dsn = module.catalog.dsn[var.primary_region], key_file = "/etc/meridian/catalog.key" }
}

module "edge_secondary" {
  source          = "../../modules/edge"
  region          = var.secondary_region
  edges           = 2
  region_links    = local.region_links
  domains         = [var.s3_hostname]
  internal_domain = local.internal_domain
  catalog         = { sql_dsn = module.catalog.dsn[var.secondary_region], key_file = "/etc/meridian/catalog.key" }
}

module "aws_primary" {
  source          = "./region"
  providers       = { aws = aws.primary }
  region          = var.primary_region
  azs             = local.azs[var.primary_region]
  cidr            = "10.10.0.0/16"
  ami_id          = var.ami_id[var.primary_region]
  instance_types  = var.instance_types
  internal_domain = local.internal_domain
  nodes           = module.region_primary.nodes
  cloud_init      = module.region_primary.cloud_init
  edges           = module.edge_primary.nodes
  crdb_nodes      = { for id, n in module.catalog.nodes : id => merge(n, { start = module.catalog.start_commands[id] }) if n.region == var.primary_region }
}

module "aws_secondary" {
  source          = "./region"
  providers       = { aws = aws.secondary }
  region          = var.secondary_region
  azs             = local.azs[var.secondary_region]
  cidr            = "10.20.0.0/16"
  ami_id          = var.ami_id[var.secondary_region]
  instance_types  = var.instance_types
  internal_domain = local.internal_domain
  nodes           = module.region_secondary.nodes
  cloud_init      = module.region_secondary.cloud_init
  edges           = module.edge_secondary.nodes
  crdb_nodes      = { for id, n in module.catalog.nodes : id => merge(n, { start = module.catalog.start_commands[id] }) if n.region == var.secondary_region }
}

module "front_door" {
  source      = "../../modules/global"
  s3_hostname = var.s3_hostname
  edge_fleets = {
    (var.primary_region)   = module.edge_primary.addresses
    (var.secondary_region) = module.edge_secondary.addresses
  }
  anycast_ips = flatten([for s in aws_globalaccelerator_accelerator.s3.ip_sets : s.ip_addresses])
}

# The anycast front door: one accelerator, a TCP 443 listener, one endpoint
# group per region pointing at that region's edge load balancer.
resource "aws_globalaccelerator_accelerator" "s3" {
  provider        = aws.global
  name            = "meridian-s3"
  ip_address_type = "IPV4"
  enabled         = true
}

resource "aws_globalaccelerator_listener" "https" {
  provider        = aws.global
  accelerator_arn = aws_globalaccelerator_accelerator.s3.id
  protocol        = "TCP"
  client_affinity = "NONE"
  port_range {
    from_port = 443
    to_port   = 443
  }
}

resource "aws_globalaccelerator_endpoint_group" "region" {
  provider = aws.global
  for_each = {
    (var.primary_region)   = module.aws_primary.edge_lb_arn
    (var.secondary_region) = module.aws_secondary.edge_lb_arn
  }
  listener_arn                  = aws_globalaccelerator_listener.https.id
  endpoint_group_region         = each.key
  traffic_dial_percentage       = module.front_door.endpoint_groups[each.key].traffic_dial
  health_check_protocol         = module.front_door.endpoint_groups[each.key].health_check.protocol
  health_check_path             = module.front_door.endpoint_groups[each.key].health_check.path
  health_check_port             = module.front_door.endpoint_groups[each.key].health_check.port
  health_check_interval_seconds = 10
  threshold_count               = 3
  endpoint_configuration {
    endpoint_id                    = each.value
    weight                         = 100
    client_ip_preservation_enabled = true
  }
}

resource "aws_route53_record" "s3" {
  provider = aws.primary
  for_each = { apex = var.s3_hostname, wildcard = "*.${var.s3_hostname}" }
  zone_id  = var.public_zone_id
  name     = each.value
  type     = "A"
  ttl      = 300
  records  = flatten([for s in aws_globalaccelerator_accelerator.s3.ip_sets : s.ip_addresses])
}

output "s3_endpoint" {
  description = "The S3 endpoint."
  value       = module.front_door.s3_endpoint
}

output "catalog_init_sql" {
  description = "SQL to run once after `cockroach init` on the catalog cluster."
  value       = module.catalog.init_sql
}
