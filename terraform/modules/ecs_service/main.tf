data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  region = data.aws_region.current.name
  image  = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"

  environment = merge(
    {
      PORT        = tostring(var.container_port)
      HOST        = "0.0.0.0"
      ENVIRONMENT = var.environment
      LOG_LEVEL   = var.log_level
    },
    var.extra_environment,
  )

  secrets = {
    DATABASE_URL = var.database_url_secret_arn
    API_KEYS     = aws_secretsmanager_secret.api_keys.arn
  }
}

################################################################ ECR

resource "aws_ecr_repository" "this" {
  name                 = var.ecr_repository_name
  image_tag_mutability = var.ecr_image_tag_mutability
  force_delete         = false
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after 7 days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 7
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last ${var.ecr_keep_tagged_images} release images (v*)"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["v"]
          countType     = "imageCountMoreThan"
          countNumber   = var.ecr_keep_tagged_images
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the last ${var.ecr_keep_other_images} other images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_tagged_images + var.ecr_keep_other_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

################################################################ logs and secrets

resource "aws_cloudwatch_log_group" "this" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

################################################################ ECS Exec

# ECS Exec is the way into a running task (a shell, or a tunnel to the
# database: docs/RUNBOOK.md "Database Access (ECS Exec)"). Who may use it is
# decided by the caller's IAM permissions (ecs:ExecuteCommand,
# ssm:StartSession); every session is recorded in CloudTrail, and what a shell
# session prints goes to this log group.
resource "aws_cloudwatch_log_group" "exec" {
  name              = "${var.log_group_name}/exec"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# Encrypts the session between the caller and the task (on top of TLS). The
# key policy is the default one: the account administers the key and grants
# its use through IAM (the task role below; operators need
# kms:GenerateDataKey on it).
resource "aws_kms_key" "exec" {
  description             = "ECS Exec sessions of ${var.service_name} (${var.environment})"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags
}

resource "aws_kms_alias" "exec" {
  name          = "alias/${var.name_prefix}-exec"
  target_key_id = aws_kms_key.exec.key_id
}

resource "aws_secretsmanager_secret" "api_keys" {
  name                    = "${var.name_prefix}/API_KEYS"
  description             = "API keys accepted by ${var.service_name} (${var.environment}), read as API_KEYS"
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "api_keys" {
  count = var.api_keys == null ? 0 : 1

  secret_id     = aws_secretsmanager_secret.api_keys.id
  secret_string = var.api_keys

  lifecycle {
    ignore_changes = [secret_string]
  }
}

################################################################ IAM

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:aws:ecs:${local.region}:${data.aws_caller_identity.current.account_id}:*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# Used by ECS to start the task: pull this image, write this log group,
# read these two secrets. Nothing else.
resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # this action has no resource-level permissions
  }

  statement {
    sid = "EcrPull"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }

  statement {
    sid       = "Secrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.secrets)
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-write-logs-read-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Role of the running task. The application calls no AWS API; the only
# permissions are those of the ECS Exec agent that runs beside it: open the
# session channels, decrypt with the session key, write the session log.
resource "aws_iam_role" "task" {
  name               = "${var.name_prefix}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "task_exec" {
  statement {
    sid = "ExecChannels"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"] # these actions have no resource-level permissions
  }

  statement {
    sid       = "ExecSessionKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.exec.arn]
  }

  statement {
    sid       = "ExecLogGroupLookup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"] # DescribeLogGroups has no resource-level permissions
  }

  statement {
    sid       = "ExecSessionLog"
    actions   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = [aws_cloudwatch_log_group.exec.arn, "${aws_cloudwatch_log_group.exec.arn}:*"]
  }
}

resource "aws_iam_role_policy" "task_exec" {
  name   = "ecs-exec"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_exec.json
}

################################################################ network

resource "aws_security_group" "tasks" {
  name_prefix = "${var.name_prefix}-tasks-"
  description = "Tasks of ${var.service_name}: service port from the load balancer only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name_prefix}-tasks" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Service port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = var.alb_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.tasks.id
  description       = "ECR, CloudWatch Logs, Secrets Manager, the database and usage-alert webhooks"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

################################################################ ECS

resource "aws_ecs_cluster" "this" {
  name = var.cluster_name
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = aws_kms_key.exec.arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_log_group_name = aws_cloudwatch_log_group.exec.name
      }
    }
  }
}

# Every image tag is a new revision. skip_destroy keeps the revision being
# replaced ACTIVE instead of deregistering it, so that the deploy workflow and
# docs/RUNBOOK.md "Rollback Deployment" can put the service back on it with
# `aws ecs update-service --task-definition <family>:<revision>` (ECS refuses
# an INACTIVE revision). Old revisions cost nothing; deregister them by hand
# if the list grows tiresome.
resource "aws_ecs_task_definition" "this" {
  family                   = var.task_family
  skip_destroy             = true
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name        = var.container_name
      image       = local.image
      essential   = true
      stopTimeout = 30

      portMappings = [
        {
          containerPort = var.container_port
          hostPort      = var.container_port
          protocol      = "tcp"
        },
      ]

      environment = [
        for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }
      ]

      secrets = [
        for k in sort(keys(local.secrets)) : { name = k, valueFrom = local.secrets[k] }
      ]

      healthCheck = {
        command     = ["CMD", "/usr/local/bin/usage-metrics", "--healthcheck"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 15
      }

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          "awslogs-group"         = aws_cloudwatch_log_group.this.name
          "awslogs-region"        = local.region
          "awslogs-stream-prefix" = "ecs"
        }
      }

      ulimits = [
        {
          name      = "nofile"
          softLimit = 65536
          hardLimit = 65536
        },
      ]
    },
  ])
}

resource "aws_ecs_service" "this" {
  name                               = var.service_name
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  health_check_grace_period_seconds  = var.health_check_grace_period_seconds
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  enable_execute_command             = var.enable_execute_command
  propagate_tags                     = "SERVICE"
  wait_for_steady_state              = false
  tags                               = var.tags

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  deployment_controller {
    type = "ECS"
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = var.assign_public_ip
  }

  load_balancer {
    target_group_arn = var.target_group_arn
    container_name   = var.container_name
    container_port   = var.container_port
  }

  lifecycle {
    # Auto-scaling owns the task count after creation.
    ignore_changes = [desired_count]
  }
}

################################################################ auto-scaling

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_capacity
  max_capacity       = var.max_capacity
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name_prefix}-cpu-target"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
