# terraform test for modules/region: validation, rendering, and the
# partition count staying fixed after creation.

variables {
  region  = "eu-test-1"
  azs     = ["eu-test-1a", "eu-test-1b", "eu-test-1c", "eu-test-1d"]
  catalog = { sql_dsn = "postgres://meridian@catalog:26257/meridian?sslmode=verify-full", key_file = "/etc/meridian/catalog.key" }
}

run "renders_every_node" {
  command = plan

  assert {
    condition     = length([for id, n in output.nodes : id if n.role == "meta"]) == 3
    error_message = "want 3 meta nodes"
  }
  assert {
    condition     = length([for id, n in output.nodes : id if n.role == "storage"]) == 16
    error_message = "want 4 storage nodes in each of 4 AZs"
  }
  assert {
    condition     = length([for id, n in output.nodes : id if n.role == "gateway"]) == 2 && length([for id, n in output.nodes : id if n.role == "background"]) == 2
    error_message = "want 2 gateways and 2 background servers by default"
  }
  assert {
    condition     = output.nodes["meta-b"].az == "eu-test-1b" && output.nodes["storage-d4"].az == "eu-test-1d"
    error_message = "nodes are in the wrong AZs"
  }
  assert {
    condition     = output.nodes["storage-c2"].identity == "meridian://storage/storage-c2?region=eu-test-1&az=eu-test-1c"
    error_message = "storage identity URI is wrong: ${output.nodes["storage-c2"].identity}"
  }
  assert {
    condition     = output.meta_addresses == "meta-a.eu-test-1.meridian.internal:9100,meta-b.eu-test-1.meridian.internal:9100,meta-c.eu-test-1.meridian.internal:9100"
    error_message = "meta addresses: ${output.meta_addresses}"
  }
  assert {
    condition = join(" ", output.nodes["meta-a"].args) == join(" ", [
      "meta", "--id", "meta-a", "--az", "eu-test-1a", "--region", "eu-test-1",
      "--data", "/var/lib/meridian/eu-test-1/meta-a",
      "--listen", "0.0.0.0:9100", "--advertise", "meta-a.eu-test-1.meridian.internal:9100",
      "--partitions", "8",
      "--peers", "meta-a=eu-test-1a@meta-a.eu-test-1.meridian.internal:9100,meta-b=eu-test-1b@meta-b.eu-test-1.meridian.internal:9100,meta-c=eu-test-1c@meta-c.eu-test-1.meridian.internal:9100",
      "--bootstrap", "--log-level", "info", "--metrics-listen", "0.0.0.0:9600",
      "--ca", "/etc/meridian/certs/ca.pem",
      "--tls-cert", "/etc/meridian/certs/eu-test-1/meta-a.pem", "--tls-key", "/etc/meridian/certs/eu-test-1/meta-a-key.pem",
    ])
    error_message = "meta-a args: ${join(" ", output.nodes["meta-a"].args)}"
  }
  assert {
    condition     = contains(output.nodes["regional-1"].args, "--sql") && contains(output.nodes["regional-1"].args, "--edge-listen") && !contains(output.nodes["regional-1"].args, "--catalog")
    error_message = "gateway must use the SQL catalog and serve the edge link"
  }
  assert {
    condition     = strcontains(output.nodes["storage-a1"].systemd_unit, "ExecStart=/usr/local/bin/meridian storage --id storage-a1")
    error_message = "systemd unit does not start the node"
  }
  assert {
    condition     = output.az_loss_tolerant
    error_message = "4 AZs x 4 storage nodes is AZ-loss tolerant"
  }
  assert {
    condition     = output.edge_links == ["regional-1.eu-test-1.meridian.internal:9001", "regional-2.eu-test-1.meridian.internal:9001"]
    error_message = "edge links: ${join(",", output.edge_links)}"
  }
}

run "cloud_init" {
  command = plan
  assert {
    condition     = startswith(output.cloud_init["meta-c"], "#cloud-config") && strcontains(output.cloud_init["meta-c"], "systemctl, enable, --now, \"meridian-meta-c.service\"") && strcontains(output.cloud_init["meta-c"], "      ExecStart=/usr/local/bin/meridian meta --id meta-c")
    error_message = "cloud-init: ${output.cloud_init["meta-c"]}"
  }
}

run "loopback_ports_are_distinct" {
  command = plan
  variables {
    address_mode = "loopback"
    base_port    = 21000
  }
  assert {
    condition     = length(distinct([for id, n in output.nodes : n.address if n.address != ""])) == 3 + 16 + 2
    error_message = "every listening node needs its own port on loopback"
  }
  assert {
    condition     = length(distinct([for id, n in output.nodes : n.metrics])) == 3 + 16 + 2 + 2
    error_message = "every node needs its own metrics port on loopback"
  }
  assert {
    condition     = output.nodes["meta-a"].address == "127.0.0.1:21100" && output.nodes["storage-a1"].address == "127.0.0.1:21200" && output.nodes["regional-1"].address == "127.0.0.1:21000"
    error_message = "loopback addresses follow base_port offsets"
  }
}

run "embedded_catalog" {
  command = plan
  variables {
    catalog = { embedded = "/var/lib/meridian/catalog.db", key_file = "/etc/meridian/catalog.key" }
  }
  assert {
    condition     = contains(output.nodes["regional-2"].args, "--catalog") && !contains(output.nodes["regional-2"].args, "--sql")
    error_message = "embedded catalog not rendered"
  }
}

run "catalog_needs_exactly_one_store" {
  command = plan
  variables {
    catalog = { sql_dsn = "postgres://x", embedded = "/x.db", key_file = "/k" }
  }
  expect_failures = [var.catalog]
}

run "needs_three_azs" {
  command = plan
  variables {
    azs = ["a", "b"]
  }
  expect_failures = [var.azs]
}

run "rejects_duplicate_azs" {
  command = plan
  variables {
    azs = ["a", "b", "b", "c"]
  }
  expect_failures = [var.azs]
}

run "only_10_plus_4" {
  command = plan
  variables {
    erasure = "8+3"
  }
  expect_failures = [var.erasure]
}

run "meta_nodes_odd" {
  command = plan
  variables {
    meta_nodes = 4
  }
  expect_failures = [var.meta_nodes]
}

run "three_azs_need_acknowledgement" {
  command = plan
  variables {
    azs            = ["a", "b", "c"]
    storage_per_az = 5
  }
  expect_failures = [terraform_data.layout]
}

run "three_azs_acknowledged" {
  command = plan
  variables {
    azs                              = ["a", "b", "c"]
    storage_per_az                   = 5
    acknowledge_no_az_loss_tolerance = true
  }
  assert {
    condition     = !output.az_loss_tolerant
    error_message = "3 AZs are not AZ-loss tolerant"
  }
}

run "too_few_storage_nodes" {
  command = plan
  variables {
    storage_per_az = 3
  }
  expect_failures = [terraform_data.layout]
}

run "create_with_8_partitions" {
  command = apply
  assert {
    condition     = terraform_data.partitions.output == 8
    error_message = "partition count not recorded"
  }
}

run "partitions_fixed_after_creation" {
  command = plan
  variables {
    partitions = 16
  }
  expect_failures = [terraform_data.layout]
}

run "background_runs_the_replicator_with_every_regions_links" {
  command = plan
  variables {
    replication_links = { "eu-test-1" = ["regional-1.eu-test-1.internal:9001"], "us-test-1" = ["a.us:9001", "b.us:9001"] }
  }
  assert {
    condition     = join(" ", slice(output.nodes["background-1"].args, 7, 13)) == "--sql postgres://meridian@catalog:26257/meridian?sslmode=verify-full --catalog-key /etc/meridian/catalog.key --regions eu-test-1=regional-1.eu-test-1.internal:9001,us-test-1=a.us:9001|b.us:9001"
    error_message = "background args: ${join(" ", output.nodes["background-1"].args)}"
  }
}

run "background_without_links_runs_no_replicator" {
  command = plan
  assert {
    condition     = !contains(output.nodes["background-1"].args, "--regions") && contains(output.nodes["background-1"].args, "--sql")
    error_message = "background args: ${join(" ", output.nodes["background-1"].args)}"
  }
}

run "rejects_a_region_without_links" {
  command = plan
  variables {
    replication_links = { "eu-test-1" = [] }
  }
  expect_failures = [var.replication_links]
}
