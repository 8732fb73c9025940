# examples/local: a real multi-region Meridian deployment on one machine.
# Two regions with four AZs each; every node is a separate `meridian`
# process on loopback, started and stopped by Terraform (built-in
# terraform_data + local-exec; no provider to download). The bucket catalog
# runs on a private PostgreSQL server (CockroachDB's wire protocol; the
# embedded catalog is single-process and cannot serve several processes).
#
#   terraform init && terraform apply -var meridian_bin=$PWD/../../../../bin/meridian
#   . "$(terraform output -raw dev_env)"; aws s3 ls
#   terraform destroy -var meridian_bin=…

terraform {
  required_version = ">= 1.6"
}

variable "meridian_bin" {
  description = "Absolute path of the meridian binary (make build writes bin/meridian)."
  type        = string
  validation {
    condition     = startswith(var.meridian_bin, "/")
    error_message = "meridian_bin must be an absolute path."
  }
}

variable "state_dir" {
  description = "Folder for data, certificates, logs and pid files (absolute; default: .deployment beside this file)."
  type        = string
  default     = ""
}

variable "regions" {
  description = "Region names; the first is the edges' default region."
  type        = list(string)
  default     = ["us-east-1", "eu-west-1"]
  validation {
    condition     = length(var.regions) >= 1 && length(var.regions) <= 4
    error_message = "1 to 4 regions."
  }
}

variable "base_port" {
  description = "First port; region i uses base_port + 1000*i .. +999 (the catalog uses base_port - 1)."
  type        = number
  default     = 24000
}

variable "storage_per_az" {
  description = "Storage nodes per AZ (4 AZs per region)."
  type        = number
  default     = 4
}

locals {
  state = var.state_dir != "" ? var.state_dir : abspath("${path.module}/.deployment")
  certs = "${local.state}/certs"
  azs   = ["a", "b", "c", "d"]
  dsn   = "postgres://postgres@127.0.0.1:${var.base_port - 1}/meridian?sslmode=disable"
  key   = "${local.state}/catalog.key"
  paths = { binary = var.meridian_bin, data = "${local.state}/data", certs = local.certs, user = "" }
  node  = "${abspath(path.module)}/scripts/node.sh"
}

module "region" {
  source   = "../../modules/region"
  for_each = { for i, r in var.regions : r => i }

  region         = each.key
  azs            = local.azs
  storage_per_az = var.storage_per_az
  gateways       = 1
  background     = 1
  partitions     = 4
  address_mode   = "loopback"
  base_port      = var.base_port + 1000 * each.value
  paths          = local.paths
  catalog        = { sql_dsn = local.dsn, key_file = local.key }
  log_level      = "warn"
}

module "edge" {
  source   = "../../modules/edge"
  for_each = { for i, r in var.regions : r => i }

  region       = each.key
  edges        = 1
  region_links = { for r in var.regions : r => module.region[r].edge_links }
  domains      = ["s3.localhost"]
  catalog      = { sql_dsn = local.dsn, key_file = local.key }
  address_mode = "loopback"
  base_port    = var.base_port + 1000 * each.value
  paths        = local.paths
  log_level    = "warn"
}

locals {
  replication_links = join(",", [for r in var.regions : "${r}=${join("|", module.region[r].edge_links)}"])
  nodes             = merge([for r in var.regions : { for id, n in module.region[r].nodes : "${r}/${id}" => merge(n, { region = r }) }]...)
  by_role = { for role in ["meta", "storage", "gateway", "background"] : role => {
    for k, n in local.nodes : k => {
      pidfile = "${local.state}/run/${k}.pid"
      log     = "${local.state}/logs/${k}.log"
      # The replicator needs every region's edge links; module instances of
      # one for_each block cannot read each other's outputs (a cycle), so
      # the flag modules/region renders from replication_links is added here.
      command = n.role == "background" ? "${n.command} --regions ${local.replication_links}" : n.command
      ready   = "http://${n.metrics}/readyz"
    } if n.role == role
  } }
  edges = merge([for r in var.regions : { for id, n in module.edge[r].nodes : "${r}/${id}" => {
    pidfile  = "${local.state}/run/${r}-${id}.pid"
    log      = "${local.state}/logs/${r}-${id}.log"
    command  = join(" ", concat([var.meridian_bin], n.args))
    ready    = "http://${n.metrics}/readyz"
    endpoint = n.endpoint
  } }]...)
  # Every node's identity, and an operator (admin) certificate per region
  # for `meridian status` and the admin commands (named in dev.env).
  identities = concat(flatten([for r in var.regions : values(module.region[r].certificates)]),
  [for r in var.regions : "meridian://admin/admin?region=${r}"])
  operator_env = join(" ", flatten([for r in var.regions : [
    "MERIDIAN_META_${upper(replace(r, "-", "_"))}=${module.region[r].meta_addresses}",
    "MERIDIAN_TLS_CERT_${upper(replace(r, "-", "_"))}=${local.certs}/${r}/admin.pem",
    "MERIDIAN_TLS_KEY_${upper(replace(r, "-", "_"))}=${local.certs}/${r}/admin-key.pem",
  ]]))
}

resource "terraform_data" "catalog" {
  input = { dir = "${local.state}/postgres", script = "${abspath(path.module)}/scripts/postgres.sh" }
  provisioner "local-exec" {
    command = "${self.input.script} start ${self.input.dir} ${var.base_port - 1}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.dir}"
  }
}

resource "terraform_data" "certs" {
  input = local.identities
  provisioner "local-exec" {
    command = "${var.meridian_bin} devcerts --dir ${local.certs} --regions '' ${join(" ", [for u in local.identities : "--identity '${u}'"])} >/dev/null"
  }
}

resource "terraform_data" "meta" {
  for_each   = local.by_role["meta"]
  depends_on = [terraform_data.certs, terraform_data.catalog]
  input      = merge(each.value, { script = local.node })
  provisioner "local-exec" {
    command = "${self.input.script} start ${self.input.pidfile} ${self.input.log} ${self.input.command}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.pidfile}"
  }
}

resource "terraform_data" "storage" {
  for_each   = local.by_role["storage"]
  depends_on = [terraform_data.meta]
  input      = merge(each.value, { script = local.node })
  provisioner "local-exec" {
    command = "${self.input.script} start ${self.input.pidfile} ${self.input.log} ${self.input.command}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.pidfile}"
  }
}

resource "terraform_data" "gateway" {
  for_each   = merge(local.by_role["gateway"], local.by_role["background"])
  depends_on = [terraform_data.storage]
  input      = merge(each.value, { script = local.node })
  provisioner "local-exec" {
    command = "${self.input.script} start ${self.input.pidfile} ${self.input.log} ${self.input.command}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.pidfile}"
  }
}

resource "terraform_data" "edge" {
  for_each   = local.edges
  depends_on = [terraform_data.gateway]
  input      = merge(each.value, { script = local.node })
  provisioner "local-exec" {
    command = "${self.input.script} start ${self.input.pidfile} ${self.input.log} ${self.input.command}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.pidfile}"
  }
}

# Ready when every gateway and edge answers /readyz, then an access key is
# created through the catalog and dev.env written.
resource "terraform_data" "ready" {
  depends_on = [terraform_data.edge]
  input      = { env = "${local.state}/dev.env" }
  provisioner "local-exec" {
    command = join(" && ", [
      "${local.node} wait ${join(" ", concat([for k, n in local.by_role["gateway"] : n.ready], [for k, e in local.edges : e.ready]))}",
      "${var.meridian_bin} admin create-key --sql '${local.dsn}' --catalog-key ${local.key} --name local > ${local.state}/key.txt",
      "${abspath(path.module)}/scripts/devenv.sh ${local.state}/key.txt ${local.certs}/ca.pem ${local.edges["${var.regions[0]}/edge-1"].endpoint} ${var.regions[0]} MERIDIAN_REGIONS=${join(",", var.regions)} MERIDIAN_CA=${local.certs}/ca.pem ${local.operator_env} > ${self.input.env}",
    ])
  }
}

output "edge_endpoints" {
  description = "Region -> its edge's HTTPS endpoint (any edge serves every bucket)."
  value       = { for k, e in local.edges : split("/", k)[0] => e.endpoint }
}

output "ca_file" {
  description = "CA that signs the edges' certificates (AWS_CA_BUNDLE)."
  value       = "${local.certs}/ca.pem"
}

output "dev_env" {
  description = "Shell file with AWS_* variables for the aws CLI and SDKs."
  value       = terraform_data.ready.output.env
}

output "meta_addresses" {
  description = "Region -> meta nodes (for meridian status with an admin certificate)."
  value       = { for r in var.regions : r => module.region[r].meta_addresses }
}

output "logs" {
  description = "Folder of every process's log."
  value       = "${local.state}/logs"
}
