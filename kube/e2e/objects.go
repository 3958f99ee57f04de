package e2e

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/scalebench/scalebench/kube/node"
)

// FnImage is the image of cmd/fn on a scalebench node.
const FnImage = node.ImageRegistry + "fn"

// FnDeployment is a Deployment of cmd/fn with the given fn flags, its pods
// labelled app=name and serving on port 8080.
func FnDeployment(name string, replicas int32, args ...string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	grace := int64(10)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name:  "fn",
						Image: FnImage,
						Args:  args,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: node.DefaultPort}},
					}},
				},
			},
		},
	}
}

// FnService is the Service selecting FnDeployment(name)'s pods; the
// endpointslice controller publishes their addresses under it.
func FnService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}
