# One region's AWS resources for examples/aws: a VPC with a private and a
# public subnet per AZ, security groups, an instance per rendered node (its
# cloud-init from modules/region or modules/edge), a private DNS zone naming
# every node, and a network load balancer in front of the edges.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "region" { type = string }
variable "azs" { type = list(string) }
variable "cidr" { type = string }
variable "ami_id" { type = string }
variable "instance_types" { type = map(string) }
variable "internal_domain" { type = string }
variable "nodes" { type = any }
variable "cloud_init" { type = map(string) }
variable "edges" { type = any }
variable "crdb_nodes" { type = any }

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_hostnames = true
  enable_dns_support   = true
  tags                 = { Name = "meridian-${var.region}" }
}

resource "aws_subnet" "private" {
  for_each          = { for i, az in var.azs : az => i }
  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = cidrsubnet(var.cidr, 4, each.value)
  tags              = { Name = "meridian-${each.key}-private" }
}

resource "aws_subnet" "public" {
  for_each          = { for i, az in var.azs : az => i }
  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = cidrsubnet(var.cidr, 4, 8 + each.value)
  tags              = { Name = "meridian-${each.key}-public" }
}

resource "aws_security_group" "internal" {
  name        = "meridian-internal"
  description = "Meridian internal hops (mutual TLS between nodes of the region)"
  vpc_id      = aws_vpc.this.id
  ingress {
    description = "every internal port, from inside the VPC only"
    from_port   = 0
    to_port     = 65535
    protocol    = "-1"
    cidr_blocks = [var.cidr]
  }
  ingress {
    description = "edge links (HTTP/3) from other regions' edges"
    from_port   = 9001
    to_port     = 9001
    protocol    = "udp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "edge" {
  name        = "meridian-edge"
  description = "S3 clients over HTTPS"
  vpc_id      = aws_vpc.this.id
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "node" {
  for_each               = var.nodes
  ami                    = var.ami_id
  instance_type          = var.instance_types[each.value.role]
  subnet_id              = aws_subnet.private[each.value.az].id
  vpc_security_group_ids = [aws_security_group.internal.id]
  user_data              = var.cloud_init[each.key]
  tags                   = { Name = "meridian-${var.region}-${each.key}", Role = each.value.role }
}

resource "aws_instance" "edge" {
  for_each               = var.edges
  ami                    = var.ami_id
  instance_type          = var.instance_types["edge"]
  subnet_id              = aws_subnet.public[var.azs[index(keys(var.edges), each.key) % length(var.azs)]].id
  vpc_security_group_ids = [aws_security_group.edge.id, aws_security_group.internal.id]
  user_data              = "#cloud-config\nwrite_files:\n  - path: /etc/systemd/system/meridian-edge.service\n    content: |\n      ${indent(6, each.value.systemd_unit)}\nruncmd:\n  - [systemctl, enable, --now, meridian-edge.service]\n"
  tags                   = { Name = "meridian-${var.region}-${each.key}", Role = "edge" }
}

resource "aws_instance" "crdb" {
  for_each               = var.crdb_nodes
  ami                    = var.ami_id
  instance_type          = var.instance_types["crdb"]
  subnet_id              = aws_subnet.private[each.value.az].id
  vpc_security_group_ids = [aws_security_group.internal.id]
  user_data              = "#cloud-config\nruncmd:\n  - [sh, -c, \"${each.value.start} --background\"]\n"
  tags                   = { Name = "meridian-${var.region}-${each.key}", Role = "crdb" }
}

resource "aws_route53_zone" "internal" {
  name = "${var.region}.${var.internal_domain}"
  vpc {
    vpc_id = aws_vpc.this.id
  }
}

resource "aws_route53_record" "node" {
  for_each = aws_instance.node
  zone_id  = aws_route53_zone.internal.zone_id
  name     = "${each.key}.${var.region}.${var.internal_domain}"
  type     = "A"
  ttl      = 60
  records  = [each.value.private_ip]
}

resource "aws_lb" "edge" {
  name               = "meridian-edge-${var.region}"
  load_balancer_type = "network"
  subnets            = [for s in aws_subnet.public : s.id]
}

resource "aws_lb_target_group" "edge" {
  name     = "meridian-edge-${var.region}"
  port     = 443
  protocol = "TCP"
  vpc_id   = aws_vpc.this.id
  health_check {
    protocol = "HTTP"
    port     = "9600" # the edge's metrics listener serves /readyz
    path     = "/readyz"
  }
}

resource "aws_lb_target_group_attachment" "edge" {
  for_each         = aws_instance.edge
  target_group_arn = aws_lb_target_group.edge.arn
  target_id        = each.value.id
  port             = 443
}

resource "aws_lb_listener" "edge" {
  load_balancer_arn = aws_lb.edge.arn
  port              = 443
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.edge.arn
  }
}

output "edge_lb_arn" {
  value = aws_lb.edge.arn
}
