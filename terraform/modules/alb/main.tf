data "aws_vpc" "this" {
  id = var.vpc_id
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id         = data.aws_caller_identity.current.account_id
  access_logs_prefix = "alb"
  # Where the load balancer writes: <prefix>/AWSLogs/<account>/elasticloadbalancing/<region>/...
  access_logs_path = "${aws_s3_bucket.access_logs.arn}/${local.access_logs_prefix}/AWSLogs/${local.account_id}/*"

  # Regions opened before August 2022 deliver access logs from a regional
  # Elastic Load Balancing account; newer ones from the log delivery service
  # principal (which the older regions do not all accept). AWS's table:
  # "Enable access logs for your Application Load Balancer".
  elb_account_by_region = {
    "us-east-1"      = "127311923021"
    "us-east-2"      = "033677994240"
    "us-west-1"      = "027434742980"
    "us-west-2"      = "797873946194"
    "af-south-1"     = "098369216593"
    "ap-east-1"      = "754344448648"
    "ap-southeast-3" = "589379963580"
    "ap-south-1"     = "718504428378"
    "ap-northeast-3" = "383597477331"
    "ap-northeast-2" = "600734575887"
    "ap-southeast-1" = "114774131450"
    "ap-southeast-2" = "783225319266"
    "ap-northeast-1" = "582318560864"
    "ca-central-1"   = "985666609251"
    "eu-central-1"   = "054676820928"
    "eu-west-1"      = "156460612806"
    "eu-west-2"      = "652711504416"
    "eu-south-1"     = "635631232127"
    "eu-west-3"      = "009996457667"
    "eu-north-1"     = "897822967062"
    "me-south-1"     = "076674570225"
    "sa-east-1"      = "507241528517"
    "us-gov-west-1"  = "048591011584"
    "us-gov-east-1"  = "190560391635"
    "cn-north-1"     = "638102146993"
    "cn-northwest-1" = "037604701340"
  }
  elb_account = lookup(local.elb_account_by_region, data.aws_region.current.name, null)
}

resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "Load balancer of ${var.name}: HTTP and HTTPS in, service port out"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "http" {
  for_each = toset(var.ingress_cidr_blocks)

  security_group_id = aws_security_group.alb.id
  description       = "HTTP (redirected to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  for_each = toset(var.ingress_cidr_blocks)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "to_targets" {
  security_group_id = aws_security_group.alb.id
  description       = "To the service tasks"
  ip_protocol       = "tcp"
  from_port         = var.container_port
  to_port           = var.container_port
  cidr_ipv4         = data.aws_vpc.this.cidr_block
}

resource "aws_lb" "this" {
  name               = var.name
  load_balancer_type = "application"
  internal           = false
  security_groups    = [aws_security_group.alb.id]
  subnets            = var.public_subnet_ids
  # 60 s, below the service's 75 s keep-alive idle timeout (see variables.tf).
  idle_timeout               = var.idle_timeout
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  tags                       = var.tags

  access_logs {
    bucket  = aws_s3_bucket.access_logs.id
    prefix  = local.access_logs_prefix
    enabled = true
  }

  lifecycle {
    precondition {
      condition     = var.idle_timeout < var.service_keepalive_timeout
      error_message = "idle_timeout must stay below the service's keep-alive idle timeout (service_keepalive_timeout), or the load balancer reuses connections the service has closed: 502s."
    }
  }

  # The load balancer checks that it may write to the bucket when logging is
  # turned on.
  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_lb_target_group" "this" {
  name                 = var.name
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30
  tags                 = var.tags

  health_check {
    enabled             = true
    path                = var.health_check_path
    port                = var.container_port
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.tags

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn
  tags              = var.tags

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

################################################################ access logs

# One line per request the load balancer handled, including those it answered
# itself (502/503/504: HTTPCode_ELB_5XX_Count) with the reason, which the
# service's own logs cannot show. docs/RUNBOOK.md "Issue: Load Balancer 5xx".
resource "aws_s3_bucket" "access_logs" {
  bucket        = "${var.name}-alb-logs-${local.account_id}"
  force_destroy = var.access_logs_force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Access logs support only S3-managed keys (SSE-S3), not KMS.
resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_logs_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "access_logs" {
  # Older regions: the regional Elastic Load Balancing account writes.
  dynamic "statement" {
    for_each = local.elb_account == null ? [] : [local.elb_account]

    content {
      sid       = "ElbAccountWritesAccessLogs"
      actions   = ["s3:PutObject"]
      resources = [local.access_logs_path]

      principals {
        type        = "AWS"
        identifiers = ["arn:${data.aws_partition.current.partition}:iam::${statement.value}:root"]
      }
    }
  }

  # Regions opened since August 2022: the log delivery service writes.
  dynamic "statement" {
    for_each = local.elb_account == null ? ["logdelivery.elasticloadbalancing.amazonaws.com"] : []

    content {
      sid       = "LogDeliveryWritesAccessLogs"
      actions   = ["s3:PutObject"]
      resources = [local.access_logs_path]

      principals {
        type        = "Service"
        identifiers = [statement.value]
      }
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json

  # The public access block must be in place before a policy is attached.
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}
