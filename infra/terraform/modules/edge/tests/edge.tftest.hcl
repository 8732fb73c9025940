variables {
  region       = "us-east-1"
  region_links = { "us-east-1" = ["gw1:9001", "gw2:9001"], "eu-west-1" = ["gw3:9001"] }
  catalog      = { sql_dsn = "postgres://meridian@crdb:26257/meridian", key_file = "/etc/meridian/catalog.key" }
}

run "renders_edges" {
  command = plan
  assert {
    condition     = length(output.nodes) == 2 && output.addresses == ["edge-1.us-east-1.meridian.internal:443", "edge-2.us-east-1.meridian.internal:443"]
    error_message = "addresses: ${join(",", output.addresses)}"
  }
  assert {
    condition     = contains(output.nodes["edge-1"].args, "eu-west-1=gw3:9001,us-east-1=gw1:9001|gw2:9001")
    error_message = "--regions not rendered"
  }
  assert {
    condition     = strcontains(output.nodes["edge-2"].systemd_unit, "ExecStart=/usr/local/bin/meridian edge --region us-east-1")
    error_message = "unit"
  }
}

run "loopback" {
  command = plan
  variables {
    address_mode = "loopback"
    base_port    = 30000
    edges        = 1
  }
  assert {
    condition     = output.nodes["edge-1"].endpoint == "https://127.0.0.1:30010"
    error_message = "endpoint: ${output.nodes["edge-1"].endpoint}"
  }
}

run "own_region_required" {
  command = plan
  variables {
    region = "ap-south-1"
  }
  expect_failures = [terraform_data.edges]
}
