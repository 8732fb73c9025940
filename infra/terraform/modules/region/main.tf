# The region module renders, provider-neutrally, the configuration of every
# node of one Meridian region: metadata nodes (one Raft replica per AZ),
# storage nodes in every AZ, regional S3 gateways and background servers.
# It creates nothing but a record of the partition count (which may never
# change after creation); compositions (examples/aws, examples/local) turn
# the rendered nodes into instances or processes.

locals {
  az_letters = [for i, az in var.azs : substr("abcdefghijklmnopqrstuvwxyz", i, 1)]
  loopback   = var.address_mode == "loopback"

  # Standard ports (hosts mode); loopback mode adds offsets to base_port.
  std_port = { regional = 9000, link = 9001, meta = 9100, storage = 9200, metrics = 9600 }

  meta_list = [for m in range(var.meta_nodes) : {
    id    = "meta-${local.az_letters[m]}"
    role  = "meta"
    az    = var.azs[m]
    index = m
  }]
  storage_list = flatten([for a, az in var.azs : [for n in range(var.storage_per_az) : {
    id    = "storage-${local.az_letters[a]}${n + 1}"
    role  = "storage"
    az    = az
    index = a * var.storage_per_az + n
  }]])
  gateway_list = [for g in range(var.gateways) : {
    id    = "regional-${g + 1}"
    role  = "gateway"
    az    = var.azs[g % length(var.azs)]
    index = g
  }]
  background_list = [for b in range(var.background) : {
    id    = "background-${b + 1}"
    role  = "background"
    az    = var.azs[b % length(var.azs)]
    index = b
  }]
  all_list = concat(local.meta_list, local.storage_list, local.gateway_list, local.background_list)

  host = { for n in local.all_list : n.id => (
    local.loopback ? "127.0.0.1" : lookup(var.hosts, n.id, "${n.id}.${var.region}.${var.domain}")
  ) }

  # One port per (role, index); metrics ports are per node in loopback mode.
  port = { for i, n in local.all_list : n.id => {
    main    = local.loopback ? var.base_port + lookup({ meta = 100, storage = 200, gateway = 0, background = 0 }, n.role) + n.index : lookup({ meta = local.std_port.meta, storage = local.std_port.storage, gateway = local.std_port.regional, background = 0 }, n.role)
    link    = local.loopback ? var.base_port + 50 + n.index : local.std_port.link
    metrics = local.loopback ? var.base_port + 600 + i : local.std_port.metrics
  } }

  addr      = { for n in local.all_list : n.id => "${local.host[n.id]}:${local.port[n.id].main}" }
  meta_addr = join(",", [for m in local.meta_list : local.addr[m.id]])
  peers     = join(",", [for m in local.meta_list : "${m.id}=${m.az}@${local.addr[m.id]}"])

  # Certificates: each node's identity URI (docs/security.md).
  cert_dir = "${var.paths.certs}/${var.region}"
  tls_args = { for n in local.all_list : n.id => [
    "--ca", "${var.paths.certs}/ca.pem",
    "--tls-cert", "${local.cert_dir}/${n.id}.pem",
    "--tls-key", "${local.cert_dir}/${n.id}-key.pem",
  ] }
  # The replicator (background) reaches every region's regional gateways
  # over their edge links; without them no replicator runs.
  replication_args = length(var.replication_links) == 0 ? [] : ["--regions", join(",", [for r, l in var.replication_links : "${r}=${join("|", l)}"])]
  catalog_args     = var.catalog.sql_dsn != "" ? ["--sql", var.catalog.sql_dsn, "--catalog-key", var.catalog.key_file] : ["--catalog", var.catalog.embedded, "--catalog-key", var.catalog.key_file]

  bind = { for n in local.all_list : n.id => (local.loopback ? local.addr[n.id] : "0.0.0.0:${local.port[n.id].main}") }
  common = { for n in local.all_list : n.id => concat(
    ["--log-level", var.log_level, "--metrics-listen", "${local.loopback ? "127.0.0.1" : "0.0.0.0"}:${local.port[n.id].metrics}"],
    local.tls_args[n.id],
  ) }

  args = merge(
    { for m in local.meta_list : m.id => concat(["meta",
      "--id", m.id, "--az", m.az, "--region", var.region,
      "--data", "${var.paths.data}/${var.region}/${m.id}",
      "--listen", local.bind[m.id], "--advertise", local.addr[m.id],
      "--partitions", tostring(var.partitions), "--peers", local.peers, "--bootstrap",
    ], local.common[m.id]) },
    { for s in local.storage_list : s.id => concat(["storage",
      "--id", s.id, "--az", s.az,
      "--data", "${var.paths.data}/${var.region}/${s.id}",
      "--listen", local.bind[s.id], "--advertise", local.addr[s.id],
      "--meta", local.meta_addr, "--capacity", var.capacity,
    ], local.common[s.id]) },
    { for g in local.gateway_list : g.id => concat(["regional",
      "--region", var.region, "--listen", local.bind[g.id], "--meta", local.meta_addr,
      "--edge-listen", "${local.loopback ? "127.0.0.1" : "0.0.0.0"}:${local.port[g.id].link}",
    ], local.catalog_args, local.common[g.id]) },
    { for b in local.background_list : b.id => concat(["background",
      "--region", var.region, "--id", b.id, "--meta", local.meta_addr,
    ], local.catalog_args, local.replication_args, local.common[b.id]) },
  )

  nodes = { for n in local.all_list : n.id => {
    role      = n.role
    az        = n.az
    host      = local.host[n.id]
    address   = n.role == "background" ? "" : local.addr[n.id]
    metrics   = "${local.host[n.id]}:${local.port[n.id].metrics}"
    args      = local.args[n.id]
    command   = join(" ", concat([var.paths.binary], [for a in local.args[n.id] : can(regex("^[A-Za-z0-9_@%+=:,./-]+$", a)) ? a : "'${replace(a, "'", "'\\''")}'"]))
    identity  = "meridian://${n.role}/${n.id}?region=${var.region}&az=${n.az}"
    cert_file = "${local.cert_dir}/${n.id}.pem"
    key_file  = "${local.cert_dir}/${n.id}-key.pem"
    systemd_unit = templatefile("${path.module}/templates/meridian.service.tftpl", {
      description = "Meridian ${n.role} ${n.id} (${var.region}/${n.az})"
      user        = var.paths.user
      binary      = var.paths.binary
      args        = local.args[n.id]
      data        = "${var.paths.data}/${var.region}"
    })
  } }

  cloud_init = { for id, n in local.nodes : id => templatefile("${path.module}/templates/cloud-init.tftpl", {
    role      = n.role, id = id, region = var.region, az = n.az, identity = n.identity
    cert_file = n.cert_file, key_file = n.key_file, user = var.paths.user
    data      = "${var.paths.data}/${var.region}", unit = n.systemd_unit
  }) }

  # How many storage nodes each AZ holds, and the largest share of the 14
  # shards one AZ may hold (invariant 5: at most parity shards per AZ).
  shards_total = 14
  parity       = 4
  az_cap_slots = length(var.azs) * min(var.storage_per_az, local.parity)
  az_tolerant  = length(var.azs) >= 4 && local.az_cap_slots >= local.shards_total
}

# The partition count, recorded at creation. ignore_changes keeps the first
# value, so a later change of var.partitions is caught by the check below
# before anything is rendered from it.
resource "terraform_data" "partitions" {
  input = var.partitions
  lifecycle {
    ignore_changes = [input]
  }
}

resource "terraform_data" "layout" {
  input = {
    region     = var.region
    partitions = var.partitions
    nodes      = { for id, n in local.nodes : id => { role = n.role, az = n.az, address = n.address } }
  }
  lifecycle {
    precondition {
      condition     = terraform_data.partitions.output == var.partitions
      error_message = "partitions are fixed when the region is created (every key is hashed to a partition); this region was created with a different count."
    }
    precondition {
      condition     = local.az_tolerant || var.acknowledge_no_az_loss_tolerance
      error_message = "this layout is not AZ-loss tolerant: with 10+4 erasure coding an AZ may hold at most 4 shards, which needs >= 4 AZs and AZs x min(storage_per_az, 4) >= 14. Add AZs or storage nodes, or set acknowledge_no_az_loss_tolerance = true."
    }
    precondition {
      condition     = length(var.azs) * var.storage_per_az >= local.shards_total
      error_message = "at least 14 storage nodes are needed (one per shard of 10+4): AZs x storage_per_az >= 14."
    }
  }
}
