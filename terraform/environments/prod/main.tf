locals {
  environment  = "prod"
  service_name = "delivery-standard"
  name         = "${local.service_name}-${local.environment}"

  tags = {
    Project     = "usage-metrics"
    Service     = local.service_name
    Environment = local.environment
    ManagedBy   = "terraform"
  }
}

module "alb" {
  source = "../../modules/alb"

  name                = local.name
  vpc_id              = var.vpc_id
  public_subnet_ids   = var.public_subnet_ids
  certificate_arn     = var.certificate_arn
  container_port      = 3000
  health_check_path   = "/health"
  deletion_protection = true
  tags                = local.tags

  # Keep-alive: the ALB closes an idle connection after 60 s, the service
  # after 75 s (its keep-alive idle timeout). The ALB's must stay the lower,
  # or it reuses a connection the service has just closed and answers 502
  # (alarm delivery-standard-prod-elb-5xx). The module refuses otherwise.
  idle_timeout              = 60
  service_keepalive_timeout = 75
}

module "database" {
  source = "../../modules/database"

  name                        = local.name
  vpc_id                      = var.vpc_id
  subnet_ids                  = var.private_subnet_ids
  allowed_security_group_ids  = [module.ecs_service.security_group_id]
  instance_class              = var.db_instance_class
  multi_az                    = true
  backup_retention_days       = 14
  deletion_protection         = true
  skip_final_snapshot         = false
  secret_recovery_window_days = 30
  tags                        = local.tags
}

module "ecs_service" {
  source = "../../modules/ecs_service"

  name_prefix              = local.name
  cluster_name             = "ioanyt-prod"
  service_name             = local.service_name
  task_family              = "delivery-standard"
  ecr_repository_name      = local.service_name
  ecr_image_tag_mutability = "IMMUTABLE"
  image_tag                = var.image_tag
  log_group_name           = "/ecs/delivery-standard-prod"
  log_retention_days       = 90
  environment              = "production"
  log_level                = "info"
  container_port           = 3000

  database_url_secret_arn     = module.database.database_url_secret_arn
  api_keys                    = var.api_keys
  secret_recovery_window_days = 30

  # Usage-alert webhooks go to customers' public endpoints only: a channel
  # URL that resolves into the VPC (or to the metadata address) is refused.
  extra_environment = {
    ALERT_BLOCK_PRIVATE_TARGETS = "true"
  }

  cpu           = var.task_cpu
  memory        = var.task_memory
  desired_count = 2
  min_capacity  = var.min_capacity
  max_capacity  = var.max_capacity

  vpc_id                = var.vpc_id
  private_subnet_ids    = var.private_subnet_ids
  alb_security_group_id = module.alb.security_group_id
  target_group_arn      = module.alb.target_group_arn
  tags                  = local.tags
}

module "monitoring" {
  source = "../../modules/monitoring"

  name                    = local.name
  aws_region              = var.aws_region
  alb_arn_suffix          = module.alb.alb_arn_suffix
  target_group_arn_suffix = module.alb.target_group_arn_suffix
  cluster_name            = module.ecs_service.cluster_name
  service_name            = module.ecs_service.service_name
  log_group_name          = module.ecs_service.log_group_name
  db_instance_id          = module.database.instance_id
  pagerduty_endpoint      = var.pagerduty_endpoint
  slack_endpoint          = var.slack_endpoint
  alert_emails            = var.alert_emails
  tags                    = local.tags

  # 3 connections per task and namespace (API_KEYS: the writer's, the
  # reader's, the notifier's), twice the tasks during a deploy, plus a few for
  # an operator's psql session.
  db_connections_threshold = 6 * var.namespace_count * var.max_capacity + 5
}
